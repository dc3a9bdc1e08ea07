"""Settings: the process environment turned into frozen, validated Structs, once, at start-up.

Only the composition root (``app.asgi``) and the CLI call :func:`load_settings`; every component
receives its own section in ``__init__``. Variables are grouped by prefix and each group is
validated by its Struct, so a missing, unknown (misspelt) or malformed variable stops start-up
with one line naming it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import msgspec

__all__ = [
    "CommercetoolsSettings",
    "GatewaySettings",
    "NovomindSettings",
    "Secret",
    "Settings",
    "SettingsError",
    "StorageSettings",
    "load_gateway_settings",
    "load_settings",
    "load_storage_settings",
]


class SettingsError(Exception):
    """A start-up configuration problem; ``str()`` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str, *, more: tuple[SettingsError, ...] = ()) -> None:
        # Every problem at once (one line each): an operator fixes the environment in one go.
        self.problems: tuple[SettingsError, ...] = (self, *more)
        super().__init__("\n".join([f"{variable}: {problem}", *(str(e) for e in more)]))
        self.variable = variable
        self.problem = problem

    @staticmethod
    def of(problems: list[SettingsError]) -> SettingsError:
        flat = [p for problem in problems for p in problem.problems]
        first, *more = flat
        return SettingsError(first.variable, first.problem, more=tuple(more))


class Secret:
    """A string that never shows itself in ``repr``/``str``, so it cannot leak into a log or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=600)]


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="upper"):
    prefix: ClassVar[str]


class CommercetoolsSettings(_Section, frozen=True):
    """``CTP_*``: named as commercetools names them in its API-client export."""

    prefix: ClassVar[str] = "CTP_"

    # The commercetools project every request addresses (the key in the API client's scope).
    project_key: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{1,255}$")]
    # The API client's id and secret (OAuth2 client credentials).
    client_id: str
    # Never logged or shown; see docs/security.md.
    client_secret: Secret
    # The region's auth host, e.g. https://auth.europe-west1.gcp.commercetools.com.
    auth_url: HttpUrl
    # The region's API host, e.g. https://api.europe-west1.gcp.commercetools.com.
    api_url: HttpUrl
    # Space-separated, as commercetools' API-client export writes them. Empty: whatever the client has.
    scopes: str = ""
    # Per HTTP attempt; the overall deadline below bounds all attempts of one call together.
    timeout_seconds: PositiveSeconds = 3.0
    # All attempts of one call together, retries and backoff included.
    deadline_seconds: PositiveSeconds = 8.0
    # Attempts per call on retriable failures (timeouts, 429, 502-504), with full-jitter backoff.
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 4
    # The first backoff step; each retry doubles it, up to the cap below (Retry-After is a floor).
    backoff_base_seconds: PositiveSeconds = 0.1
    # The longest single backoff wait.
    backoff_cap_seconds: PositiveSeconds = 2.0
    # Refetch the access token this long before it expires, so no request races the expiry.
    token_leeway_seconds: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 300
    # Requests to commercetools at once per process (lookups and the pusher's order reads); more wait.
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "auth_url", self.auth_url.rstrip("/"))
        msgspec.structs.force_setattr(self, "api_url", self.api_url.rstrip("/"))


class NovomindSettings(_Section, frozen=True):
    """``NOVOMIND_*``: the iAGENT REST API used by the status pusher."""

    prefix: ClassVar[str] = "NOVOMIND_"

    # The iAGENT REST API's base, e.g. https://novomind.example.com (paths come from mappings/push.toml).
    base_url: HttpUrl
    # The OAuth2 client registered in iAGENT for the gateway.
    client_id: str
    # Never logged or shown.
    client_secret: Secret
    # The technical user the pusher writes as (OAuth2 password grant, as iAGENT documents).
    username: str
    # Never logged or shown.
    password: Secret
    # The OAuth2 token endpoint below base_url (documented path; one endpoint for supervisors and agents).
    token_path: Annotated[str, msgspec.Meta(pattern=r"^/[^\s?#]*$")] = "/iMail/api/rest/token"  # noqa: S105 - a path
    # Where the client id and secret go on the token request: an HTTP Basic header (seen in public
    # client code) or `client_id`/`client_secret` form fields (RFC 6749 allows both).
    client_auth: Annotated[str, msgspec.Meta(pattern=r"^(basic|form)$")] = "basic"
    # Media-type versioning: iAGENT answers in the version named here (v2 from 11.0 on, v2 only from 11.6).
    accept: Annotated[str, msgspec.Meta(pattern=r"^[!-~][ -~]{0,254}$")] = "application/vnd.novomind.iagent-v2+json"
    # Per HTTP attempt. Each send is one attempt: the push queue retries with backoff.
    timeout_seconds: PositiveSeconds = 3.0
    # Refetch the access token this long before it expires (at most half its lifetime).
    token_leeway_seconds: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 30
    # Lifetime assumed when the token response carries no usable `expires_in` (undocumented by novomind).
    default_token_ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 300
    # Connections to iAGENT per process; more concurrent writes wait for one (not counted as timeout).
    # An idle connection costs nothing per request (app/http_pool.py), while each one carries one write
    # per round trip: over a WAN to iAGENT (tens of ms) few connections cap the writes per second.
    # Measured on loopback, scripts/bench_push.py, Redis 2x1: 2 -> 243 events/s, 4 -> 292, 8 -> 294,
    # 16 -> 302 (the last three within the machine's noise).
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=200)] = 16
    # Request header carrying each write's idempotency key (honoured by the sandbox; iAGENT documents none).
    idempotency_header: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{1,64}$")] = "Idempotency-Key"


def jwks_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as the JWKS location, or ``None``: https, or http on a loopback address only."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return "not a URL"
    if not parts.hostname:
        return "no host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not supported"
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return None
    return "use https://, or http:// only on a loopback address"


def frame_ancestors_problem(value: str) -> str | None:
    """Each origin goes verbatim into a CSP header: only scheme://host[:port], nothing to inject."""
    for origin in value.split():
        try:
            parsed = urlsplit(origin)
            _ = parsed.port
        except ValueError:
            return f"{origin!r} is not an origin like https://desk.example.com"
        if (
            parsed.scheme not in ("https", "http")
            or not parsed.hostname
            or parsed.path
            or parsed.query
            or parsed.fragment
            or parsed.username
            or not re.fullmatch(r"[A-Za-z0-9.:/\[\]-]+", origin)
        ):
            return f"{origin!r} is not an origin like https://desk.example.com"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GatewaySettings(_Section, frozen=True):
    """``GATEWAY_*``: the gateway's own behaviour."""

    prefix: ClassVar[str] = "GATEWAY_"

    # Caller tokens: HS256 with the secret, and/or RS256/PS256/ES256/Ed25519 with keys from the JWKS URL.
    jwt_secret: Secret | None = None
    # The identity provider's JWKS (https, or http on loopback) for asymmetric caller tokens.
    jwks_url: HttpUrl | None = None
    # A token with an unknown ``kid`` refetches the JWKS at most once per this many seconds.
    jwks_min_refetch_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0
    # The `iss` every caller token must carry.
    jwt_issuer: str = "ctnm"
    # The `aud` every caller token must carry.
    jwt_audience: str = "ct-novomind-gateway"
    # Directory of the embedded SQLite store (used when REDIS_URL is unset).
    data_dir: str = "./data"
    # Directory of the mapping files (docs/mappings.md); every file is validated at start-up.
    mappings_dir: str = "./mappings"
    # POST /v1/events/commercetools: `Authorization: Bearer <secret>` (commercetools HTTP destination
    # with an AuthorizationHeader) and/or an OIDC token (Google Pub/Sub push with authentication).
    events_secret: Secret | None = None
    # Accept OIDC ID tokens with this `aud` (the push subscription's audience); unset = no OIDC.
    events_oidc_audience: str | None = None
    # Where the OIDC signing keys are fetched (Google's by default).
    events_oidc_jwks_url: HttpUrl = "https://www.googleapis.com/oauth2/v3/certs"
    # Space-separated issuers accepted in the OIDC token's `iss`.
    events_oidc_issuers: str = "https://accounts.google.com accounts.google.com"
    # When set, the OIDC token must carry this (verified) `email`: the push subscription's service account.
    events_oidc_email: str | None = None
    # The status pusher (in `serve` with the embedded backend, and in `ctnm push`).
    # Queue entries a worker takes per receive.
    push_batch_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 64
    # How long a delivery and its order's lock belong to a worker before another may take over.
    push_lease_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0
    # Also poll the Messages API (channels and intervals in mappings/push.toml).
    push_poll: bool = False
    # `ctnm serve` with the embedded backend runs the pusher in-process (`serve --no-push` turns this off).
    push_in_process: bool = True
    # The agent widget (docs/widget.md): HMAC key novomind signs the widget URL's context with
    # (at least 32 characters); unset = the widget is off.
    widget_secret: Secret | None = None
    # A signed widget link may be valid for at most this long (its `exp` no further ahead).
    widget_max_ttl_seconds: Annotated[int, msgspec.Meta(ge=30, le=86400)] = 3600
    # Space-separated origins allowed to frame the widget (CSP frame-ancestors); empty = none.
    widget_frame_ancestors: str = ""
    # Serve Prometheus metrics at /metrics on the main port, without a token. Off by default: the
    # metrics then go only to `ctnm serve --metrics-port`, bound to loopback (docs/operations.md).
    metrics_public: bool = False
    # Level of the structured JSON log.
    log_level: Annotated[str, msgspec.Meta(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    # Log request/response payloads (redacted by the masking rules, cut to the cap). Off by default:
    # even redacted payloads are more than an operator usually needs.
    log_payloads: bool = False
    # Longest payload excerpt per log line, in bytes.
    log_payload_max_bytes: Annotated[int, msgspec.Meta(ge=256, le=1_048_576)] = 4096
    # The view cache (app/cache, docs/cache.md). The key encrypts values and hashes names in Redis:
    # required with REDIS_URL, at least 32 characters, the same on every process of a deployment.
    cache_key: Secret | None = None
    # Redis keys are `<namespace>:{cache}:...` (several deployments, or tests, may share one Redis).
    cache_namespace: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "ctnm"
    # Per process: at most this many views and this many bytes of encoded views (the first bound hit wins).
    cache_l1_entries: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 20_000
    # The byte bound of the same L1 (encoded views, counted as stored).
    cache_l1_bytes: Annotated[int, msgspec.Meta(ge=0, le=64 * 1024**3)] = 128 * 1024**2
    # The deployment-wide lock one process holds while it reads a view the others wait for; a holder
    # that dies is replaced when the lock runs out.
    cache_lock_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    # Enforce the rate limits of mappings/limits.toml (per caller, and the commercetools budget).
    # Off only for load tests and benchmarks that measure the gateway itself.
    rate_limits: bool = True
    # `Cache-Control: no-cache` forces a commercetools read at most this often per caller.
    cache_forced_refreshes_per_minute: Annotated[int, msgspec.Meta(ge=0, le=600)] = 6
    # Benchmark only (make bench): serve GET /bench/static, a fixed JSON body, as the speed baseline.
    bench_static_bytes: Annotated[int, msgspec.Meta(ge=0, le=1_048_576)] = 0

    def __post_init__(self) -> None:
        if self.jwt_secret is None and self.jwks_url is None:
            raise SettingsError("GATEWAY_JWT_SECRET", "missing (set it, or GATEWAY_JWKS_URL, to authenticate callers)")
        if self.jwt_secret is not None and len(self.jwt_secret.reveal()) < 32:
            raise SettingsError("GATEWAY_JWT_SECRET", "too short (use at least 32 characters for HS256)")
        if self.jwks_url is not None and (problem := jwks_url_problem(self.jwks_url)):
            raise SettingsError("GATEWAY_JWKS_URL", f"malformed ({problem})")
        if self.widget_secret is not None and len(self.widget_secret.reveal()) < 32:
            raise SettingsError("GATEWAY_WIDGET_SECRET", "too short (use at least 32 random characters)")
        if problem := frame_ancestors_problem(self.widget_frame_ancestors):
            raise SettingsError("GATEWAY_WIDGET_FRAME_ANCESTORS", f"malformed ({problem})")
        if self.events_secret is not None and len(self.events_secret.reveal()) < 16:
            raise SettingsError("GATEWAY_EVENTS_SECRET", "too short (use at least 16 random characters)")
        if self.cache_key is not None and len(self.cache_key.reveal()) < 32:
            raise SettingsError("GATEWAY_CACHE_KEY", "too short (use at least 32 random characters)")
        if self.events_oidc_audience is not None and (problem := jwks_url_problem(self.events_oidc_jwks_url)):
            raise SettingsError("GATEWAY_EVENTS_OIDC_JWKS_URL", f"malformed ({problem})")


class Settings(msgspec.Struct, frozen=True):
    commercetools: CommercetoolsSettings
    gateway: GatewaySettings
    novomind: NovomindSettings | None = None
    redis_url: str | None = None


_MISSING = re.compile(r"missing required field `(?P<field>[A-Z_]+)`")
_AT_FIELD = re.compile(r"at `\$\.(?P<field>[A-Z_]+)`")
_S = TypeVar("_S", bound=_Section)
_T = TypeVar("_T")


def _decode_secret(type_: type, obj: Any) -> Any:
    if type_ is Secret and isinstance(obj, str):
        return Secret(obj)
    raise NotImplementedError


def _group(cls: type[_Section], environ: Mapping[str, str]) -> dict[str, str]:
    group, unknown = _split(cls, environ)
    if unknown:
        raise SettingsError.of(unknown)
    return group


def _split(cls: type[_Section], environ: Mapping[str, str]) -> tuple[dict[str, str], list[SettingsError]]:
    """The section's variables, and one problem per variable with its prefix that it does not know."""
    known = {f.encode_name for f in msgspec.structs.fields(cls)}
    group: dict[str, str] = {}
    unknown: list[SettingsError] = []
    for name, value in environ.items():
        if not name.startswith(cls.prefix):
            continue
        field = name.removeprefix(cls.prefix)
        if field not in known:
            names = ", ".join(sorted(known))
            unknown.append(SettingsError(name, f"unknown variable (known {cls.prefix}* names: {names})"))
        elif value.strip():
            group[field] = value.strip()
    return group, unknown


def _section(cls: type[_S], group: Mapping[str, str]) -> _S:
    fields = msgspec.structs.fields(cls)
    required = [f.encode_name for f in fields if f.required]
    problems = [SettingsError(cls.prefix + name, "missing") for name in required if name not in group]
    remaining = dict(group)
    # msgspec stops at the first bad value: take it out and convert again, to name every malformed one.
    for _ in range(len(fields) + 1):
        try:
            section = msgspec.convert(remaining, cls, strict=False, dec_hook=_decode_secret)
        except msgspec.ValidationError as exc:
            message = str(exc)
            if match := _MISSING.search(message):
                if not problems:
                    problems.append(SettingsError(cls.prefix + match["field"], "missing"))
                break
            if (match := _AT_FIELD.search(message)) and match["field"] in remaining:
                problem = message.split(" - at ")[0]
                problems.append(SettingsError(cls.prefix + match["field"], f"malformed ({problem})"))
                del remaining[match["field"]]
                continue
            problems.append(SettingsError(cls.prefix + "*", message))
            break
        else:
            if not problems:
                return section
            break
    raise SettingsError.of(problems)


def load_gateway_settings(environ: Mapping[str, str]) -> GatewaySettings:
    """Only the ``GATEWAY_*`` section, for commands that need no upstream (``ctnm token``)."""
    return _section(GatewaySettings, _group(GatewaySettings, environ))


class StorageSettings(msgspec.Struct, frozen=True):
    """What operator commands on stored data need (``ctnm links …``): no upstream, no caller auth."""

    redis_url: str | None
    data_dir: str
    mappings_dir: str


def _redis_url(environ: Mapping[str, str]) -> str | None:
    redis_url = environ.get("REDIS_URL", "").strip() or None
    if redis_url is not None and not re.match(r"^rediss?://", redis_url):
        raise SettingsError("REDIS_URL", "malformed (expected redis://host:port/db or rediss://...)")
    return redis_url


def load_storage_settings(environ: Mapping[str, str]) -> StorageSettings:
    defaults = {f.name: f.default for f in msgspec.structs.fields(GatewaySettings)}
    return StorageSettings(
        redis_url=_redis_url(environ),
        data_dir=environ.get("GATEWAY_DATA_DIR", "").strip() or str(defaults["data_dir"]),
        mappings_dir=environ.get("GATEWAY_MAPPINGS_DIR", "").strip() or str(defaults["mappings_dir"]),
    )


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build :class:`Settings` from an environment mapping; raise one :class:`SettingsError` naming every problem."""
    problems: list[SettingsError] = []

    def attempt(load: Callable[[], _T]) -> _T | None:
        try:
            return load()
        except SettingsError as exc:
            problems.append(exc)
            return None

    groups = {}
    for cls in (CommercetoolsSettings, GatewaySettings, NovomindSettings):
        groups[cls], unknown = _split(cls, environ)
        problems.extend(unknown)
    commercetools = attempt(lambda: _section(CommercetoolsSettings, groups[CommercetoolsSettings]))
    gateway = attempt(lambda: _section(GatewaySettings, groups[GatewaySettings]))
    novomind_group = groups[NovomindSettings]
    novomind = attempt(lambda: _section(NovomindSettings, novomind_group)) if novomind_group else None
    redis_url = attempt(lambda: _redis_url(environ))
    if redis_url is not None and gateway is not None and gateway.cache_key is None:
        problems.append(
            SettingsError(
                "GATEWAY_CACHE_KEY",
                "missing (required with REDIS_URL: it encrypts cached views; 32+ random characters)",
            )
        )
    if problems or commercetools is None or gateway is None:
        raise SettingsError.of(problems)
    return Settings(commercetools=commercetools, gateway=gateway, novomind=novomind, redis_url=redis_url)
