"""What every iAGENT REST answer looks like on the wire: media types, versioning, errors, extra fields.

Documented (apps.novomind.com/developer/iagent/rest/overview.html):

- versioning through `Accept: application/vnd.novomind.iagent-v{n}+json`; without it the default version;
- successful answers as `application/vnd.novomind.iagent-v{n}+json;charset=UTF-8`, with `p3p` and
  `Vary: Accept-Encoding` headers in the examples;
- errors as plain `application/json;charset=UTF-8` carrying the message and the status code;
- timestamps `YYYY-MM-DDTHH:MM:SSZ`; new fields may appear within a version.

Assumed (not public, labelled in the reference's section 5): error field names `status`/`message`;
`406` for any other vendor version (or a media type iAGENT cannot produce); the random extra field per
JSON object, which exercises the documented "ignore unknown properties" rule.
"""

import random
import re
import time
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

ERROR_MEDIA_TYPE: Final = "application/json;charset=UTF-8"
P3P: Final = 'CP="IDC DSP COR ADM DEVi TAIi PSA PSD IVAi IVDi CONi HIS OUR IND CNT"'
SUPPORTED_VERSIONS: Final = (1, 2)
_VENDOR: Final = re.compile(r"^application/vnd\.novomind\.iagent-v(\d+)\+json$")
_GENERIC: Final = frozenset({"*/*", "application/*", "application/json"})


def vendor_media_type(version: int) -> str:
    return f"application/vnd.novomind.iagent-v{version}+json;charset=UTF-8"


def success_headers() -> dict[str, str]:
    return {"Vary": "Accept-Encoding", "p3p": P3P}


def negotiate(accept: str | None, default_version: int) -> int | None:
    """The API version to answer in, or `None` for `406 Not Acceptable`.

    Media ranges are tried in the order given (quality values are ignored); the first one the
    sandbox can produce wins. A missing or empty `Accept` gets the default version.
    """
    if accept is None or not accept.strip():
        return default_version
    for media_range in accept.split(","):
        media_type = media_range.split(";", 1)[0].strip().lower()
        if media_type in _GENERIC:
            return default_version
        match = _VENDOR.match(media_type)
        if match and int(match.group(1)) in SUPPORTED_VERSIONS:
            return int(match.group(1))
    return None


_TIMESTAMP: Final = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(moment: datetime | None = None) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`: ISO 8601, second precision, UTC."""
    if moment is None:  # every memo asks: skip building a datetime to format the current second
        return time.strftime(_TIMESTAMP, time.gmtime())
    return moment.astimezone(UTC).strftime(_TIMESTAMP)


class ExtraFields:
    """Adds one randomly named field to every JSON object (simulator-only, to catch strict parsers).

    Names come from a seeded generator, so a run with the same seed answers the same names in the
    same order. Maps that are data rather than objects (ticket `storage`) are left alone.
    """

    def __init__(self, seed: int, enabled: bool) -> None:
        self.seed = seed
        self.enabled = enabled
        self._random = random.Random(seed)

    def reset(self) -> None:
        self._random = random.Random(self.seed)

    def _name(self) -> str:
        # One draw formatted, not ten letters chosen: every answer carries two to four of these.
        return f"x{self._random.getrandbits(48):012x}"

    def _value(self) -> Any:
        kind = self._random.randrange(4)
        if kind == 0:
            return self._random.randint(0, 999)
        return self._name() if kind == 1 else (None, True)[kind - 2]

    def add(self, value: Any, *, skip: frozenset[str] = frozenset({"storage"})) -> Any:
        if not self.enabled:
            return value
        if isinstance(value, list):
            return [self.add(item, skip=skip) for item in value]
        if isinstance(value, dict):
            out = {key: item if key in skip else self.add(item, skip=skip) for key, item in value.items()}
            name = self._name()
            while name in out:
                name = self._name()
            out[name] = self._value()
            return out
        return value


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


class NovomindError(Exception):
    """An error answer: `{"status": <int>, "message": "<text>"}` as `application/json;charset=UTF-8`.

    `oauth_error` switches to the token endpoint's RFC 6749 body (`{"error": "<code>"}`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        oauth_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.oauth_error = oauth_error

    def body(self) -> dict[str, Any]:
        if self.oauth_error is not None:
            return {"error": self.oauth_error, "error_description": self.message}
        return {"status": self.status, "message": self.message}


_REASONS: Final = {
    400: "Bad Request",
    401: "Full authentication is required to access this resource",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def unauthorized(message: str = _REASONS[401]) -> NovomindError:
    return NovomindError(401, message, headers={"WWW-Authenticate": "Bearer"})


def generic_error(status: int) -> NovomindError:
    """The error iAGENT (or its edge) would most plausibly send for a bare status code."""
    if status == 401:
        return unauthorized("Access token expired")
    return NovomindError(status, _REASONS.get(status, f"HTTP {status}"))
