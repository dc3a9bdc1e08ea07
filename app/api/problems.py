"""The one place where errors become HTTP: RFC 9457 ``application/problem+json`` bodies.

Every gateway error class maps to exactly one status and one problem type here. Bodies carry the
error's own safe ``detail`` and the correlation id; never an upstream body, a token or personal
data. Each type is a URI reference into the page the gateway serves at ``/problems`` (one anchor
per type, the same text as ``docs/http-api.md``), so a client resolves it against the gateway's
own address without any outside host.
"""

from __future__ import annotations

import html
import logging
import math
import re
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from app.errors import (
    AuthenticationError,
    ConcurrentModificationError,
    CustomTypeConflictError,
    FatalError,
    GatewayError,
    InvalidInputError,
    MissingCredentialsError,
    NotFoundError,
    OwnershipConflictError,
    PermissionDeniedError,
    RateLimitedError,
    RetriableError,
    StorageUnavailableError,
    UpstreamContractError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from app.observability import correlation_id, log_event

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPES",
    "InvalidParam",
    "Problem",
    "ProblemType",
    "problem_body",
    "problem_page",
    "problem_responses",
    "type_uri",
]

_logger = logging.getLogger("app.api")
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
PROBLEMS_PATH: Final = "/problems"


class ProblemType(msgspec.Struct, frozen=True):
    status: int
    title: str
    meaning: str
    action: str


# The catalogue of every `type` the gateway answers; docs/http-api.md repeats it and a test keeps both equal.
PROBLEM_TYPES: Final[dict[str, ProblemType]] = {
    "bad-request": ProblemType(
        400, "Bad request", "The request could not be read as HTTP the gateway accepts.", "Fix the request."
    ),
    "unauthenticated": ProblemType(
        401,
        "Not authenticated",
        "No bearer token, or one the gateway does not accept (signature, issuer, audience, expiry).",
        "Send `Authorization: Bearer <token>` with a valid token; `WWW-Authenticate` says which case it is.",
    ),
    "forbidden": ProblemType(
        403,
        "Missing scope",
        "The token is valid but lacks a scope the operation requires.",
        "Ask for a token with the scope named in `detail`.",
    ),
    "not-found": ProblemType(
        404,
        "Not found",
        "Nothing at this path, or the resource does not exist, or it is in a store the caller may not see.",
        "Check the identifier; the gateway does not tell the cases apart on purpose.",
    ),
    "method-not-allowed": ProblemType(
        405, "Method not allowed", "The path exists but not with this method.", "Use a method listed in `Allow`."
    ),
    "ownership-conflict": ProblemType(
        409,
        "Field owned by the other side",
        "The patch names a field that `mappings/ownership.toml` gives to commercetools (or another owner); "
        "`field` and `owner` name it. Nothing was written.",
        "Leave the field out of the patch; its owner changes it (see `GET /v1/ownership`).",
    ),
    "custom-type-conflict": ProblemType(
        409,
        "Customer has another custom Type",
        "The customer's custom fields belong to a commercetools Type other than the one novomind's fields "
        "live on; setting it would erase them. Nothing was written.",
        "An operator moves the fields to one Type, or configures that Type in `mappings/ownership.toml`.",
    ),
    "concurrent-modification": ProblemType(
        409,
        "Customer kept changing",
        "The customer changed in commercetools while the gateway wrote, on every attempt; the patch was not "
        "applied and nothing else was overwritten.",
        "Retry the same patch; it touches only the fields it names.",
    ),
    "payload-too-large": ProblemType(
        413, "Request body too large", "The body is larger than this operation accepts.", "Send a smaller body."
    ),
    "uri-too-long": ProblemType(
        414,
        "Address too long",
        "The path and query together are longer than the gateway reads (8 KiB).",
        "Shorten the request; no parameter of this API needs that much.",
    ),
    "unsupported-media-type": ProblemType(
        415,
        "Unsupported media type",
        "The body is not in a format this operation takes.",
        "Send `Content-Type: application/json` (a patch: `application/merge-patch+json` or `application/json`).",
    ),
    "invalid-input": ProblemType(
        422,
        "Invalid input",
        "A parameter or the body cannot be valid; `invalid-params` names each one and why. Nothing was sent upstream.",
        "Correct the named parameters.",
    ),
    "too-many-requests": ProblemType(
        429,
        "Too many requests",
        "The caller sent more requests than its limit allows, or the gateway's budget of commercetools "
        "requests is spent for the moment (`mappings/limits.toml`).",
        "Wait `Retry-After` seconds.",
    ),
    "internal": ProblemType(
        500,
        "Internal error",
        "The gateway failed in a way it did not expect.",
        "Quote the `correlationId` to an operator; the log has the details.",
    ),
    "upstream-contract": ProblemType(
        502,
        "Unusable answer from upstream",
        "commercetools (or novomind) answered something the gateway cannot read.",
        "Quote the `correlationId` to an operator; retrying rarely helps.",
    ),
    "upstream-rejected": ProblemType(
        502,
        "Upstream refused the gateway",
        "commercetools (or novomind) refused the gateway's own request, e.g. its credentials.",
        "An operator must fix the gateway's configuration; retrying does not help.",
    ),
    "upstream-unavailable": ProblemType(
        503,
        "Upstream unavailable",
        "commercetools (or novomind) stayed unreachable, slow or overloaded for the whole retry budget.",
        "Retry later, after `Retry-After` seconds when given.",
    ),
    "storage-unavailable": ProblemType(
        503,
        "Storage unavailable",
        "The gateway's own storage (SQLite file or Redis) does not answer.",
        "Retry later; an event sender delivers again by itself.",
    ),
    "temporarily-unavailable": ProblemType(
        503, "Temporarily unavailable", "A dependency failed in a way that may pass.", "Retry later."
    ),
}

# Most specific first; the first isinstance match wins.
_TYPE_OF_ERROR: Final[tuple[tuple[type[GatewayError], str], ...]] = (
    (NotFoundError, "not-found"),
    (InvalidInputError, "invalid-input"),
    (OwnershipConflictError, "ownership-conflict"),
    (CustomTypeConflictError, "custom-type-conflict"),
    (ConcurrentModificationError, "concurrent-modification"),
    (AuthenticationError, "unauthenticated"),
    (PermissionDeniedError, "forbidden"),
    (UpstreamContractError, "upstream-contract"),
    (UpstreamRejectedError, "upstream-rejected"),
    (UpstreamUnavailableError, "upstream-unavailable"),
    (StorageUnavailableError, "storage-unavailable"),
    (RateLimitedError, "too-many-requests"),
    (RetriableError, "temporarily-unavailable"),
    (FatalError, "internal"),
)
# Litestar's own refusals (routing, body size, media type) by status.
_TYPE_OF_STATUS: Final = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    500: "internal",
    502: "upstream-contract",
    503: "temporarily-unavailable",
}


def type_uri(code: str) -> str:
    return f"{PROBLEMS_PATH}#{code}"


class InvalidParam(msgspec.Struct, frozen=True):
    name: str
    reason: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """RFC 9457 problem details, plus the correlation id to quote to operators.

    ``type`` is a URI reference resolved against the gateway (``/problems#<type>``): the page there
    explains each type; ``title`` is that type's fixed short title. ``invalid-params`` keeps RFC
    9457's own spelling; every other member is camelCase."""

    type: str
    title: str
    status: int
    detail: str
    correlation_id: str
    invalid_params: list[InvalidParam] | None = msgspec.field(default=None, name="invalid-params")
    field: str | None = None
    """``ownership-conflict``: the refused field (``firstName``, ``custom.loyaltyTier``)."""
    owner: str | None = None
    """``ownership-conflict``: who owns that field (``commercetools`` or ``novomind``)."""


def problem_body(
    code: str,
    detail: str,
    *,
    status: int | None = None,
    invalid: list[InvalidParam] | None = None,
    field: str | None = None,
    owner: str | None = None,
) -> Problem:
    kind = PROBLEM_TYPES[code]
    return Problem(
        type=type_uri(code),
        title=kind.title,
        status=status or kind.status,
        detail=detail,
        correlation_id=correlation_id(),
        invalid_params=invalid,
        field=field,
        owner=owner,
    )


def _problem(
    code: str,
    detail: str,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    invalid: list[InvalidParam] | None = None,
    field: str | None = None,
    owner: str | None = None,
) -> Response[Problem]:
    body = problem_body(code, detail, status=status, invalid=invalid, field=field, owner=owner)
    # Set here too: requests that match no route never pass the correlation middleware.
    return Response(
        body,
        status_code=body.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**(headers or {}), "X-Correlation-ID": body.correlation_id},
    )


def status_of(exc: GatewayError) -> int:
    return PROBLEM_TYPES[_type_of(exc)].status


def _type_of(exc: GatewayError) -> str:
    return next((code for cls, code in _TYPE_OF_ERROR if isinstance(exc, cls)), "internal")


def handle_gateway_error(_: Request[Any, Any, Any], exc: GatewayError) -> Response[Problem]:
    code = _type_of(exc)
    status = PROBLEM_TYPES[code].status
    headers: dict[str, str] = {}
    if isinstance(exc, MissingCredentialsError):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if isinstance(exc, RetriableError) and exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_seconds)))
    invalid = None
    if isinstance(exc, InvalidInputError):
        invalid = [InvalidParam(name, reason) for name, reason in exc.params]
    if status >= 500:
        log_event(_logger, logging.WARNING, "request.failed", error=exc.code, status=status)
    owned = exc if isinstance(exc, OwnershipConflictError) else None
    return _problem(
        code,
        exc.detail,
        headers=headers or None,
        invalid=invalid,
        field=owned.field if owned else None,
        owner=owned.owner if owned else None,
    )


def _camel(name: str) -> str:
    """Litestar reports the handler's argument name; callers know the camelCase parameter."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# msgspec's and Litestar's messages, in the words a client author reads in our documentation.
_REASONS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"^Missing required", "is required"),
        (r"matching regex", "does not have the format this parameter takes (see its description)"),
        (r"^Expected `int` >= (?P<n>-?\d+)", "must be at least {n}"),
        (r"^Expected `int` <= (?P<n>-?\d+)", "must be at most {n}"),
        (r"^Expected `(int|float)`", "must be a number"),
        (r"^Expected `(str|array)` of length <= (?P<n>\d+)", "must be at most {n} characters long"),
        (r"^Expected `(str|array)` of length >= (?P<n>\d+)", "must be at least {n} characters long"),
        (
            r"^Expected `datetime`|RFC3339 encoded datetime",
            "must be a date and time in ISO 8601 with a zone, e.g. 2026-01-31T09:00:00Z",
        ),
        (r"^Expected `bool`", "must be true or false"),
        (r"^Expected `object`", "must be a JSON object"),
        (r"^Expected `str`", "must be a string"),
        (r"^Object contains unknown field", "is not a field this operation takes"),
        (r"^Object missing required field", "is required"),
        (r"^Invalid enum value", "is not one of the allowed values"),
        (r"JSON is malformed|Input data was truncated|Invalid JSON", "is not valid JSON"),
    )
)
_AT_FIELD = re.compile(r" - at `\$\.(?P<field>[A-Za-z0-9_]+)`")
_FIELD_NAME = re.compile(r"field `(?P<field>[^`]+)`")


def plain_reason(message: str) -> str:
    """One validation message in plain words; never a regular expression or a class name."""
    for pattern, reason in _REASONS:
        if match := pattern.search(message):
            return reason.format(**match.groupdict())
    return "is not valid"


def _invalid_param(item: dict[str, Any]) -> InvalidParam:
    message = str(item.get("message", ""))
    name = _camel(str(item.get("key") or "request"))
    if name == "data":
        # A body field: msgspec names it in its message (`... - at `$.orderNumber`` or `field `x``).
        field = _AT_FIELD.search(message) or _FIELD_NAME.search(message)
        name = f"body.{field['field']}" if field else "body"
    return InvalidParam(name, plain_reason(message))


def handle_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    """Litestar's parameter validation: 422 naming each offending parameter, no upstream call made."""
    invalid = [
        _invalid_param(item) for item in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(item, dict)
    ]
    names = ", ".join(p.name for p in invalid) or "request"
    return _problem("invalid-input", f"invalid parameter: {names}", invalid=invalid or None)


_HTTP_DETAILS: Final = {
    400: "the request cannot be read",
    401: "a bearer token is required",
    404: "no such path",
    405: "this path does not take this method",
    413: "the request body is too large",
    415: "the request body must be application/json",
    429: "too many requests",
}


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    code = _TYPE_OF_STATUS.get(status, "bad-request" if status < 500 else "internal")
    headers = dict(exc.headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    # Litestar's own details name internals ("No route handler for..."); ours are fixed sentences.
    detail = _HTTP_DETAILS.get(status, PROBLEM_TYPES[code].title.lower())
    return _problem(code, detail, status=status, headers=headers or None)


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    _logger.error("request.crashed", exc_info=exc, extra={"fields": {"error": type(exc).__name__}})
    return _problem("internal", "unexpected error; quote the correlation id to an operator")


def _description(status: int) -> str:
    kinds = [(code, t) for code, t in PROBLEM_TYPES.items() if t.status == status]
    return " ".join(f"`{type_uri(code)}` ({t.title}): {t.meaning}" for code, t in kinds)


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem statuses an operation can answer, naming each possible type."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_description(status),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }


def problem_page() -> str:
    """The page at ``/problems``: one anchor per type, so every ``type`` URI resolves on the gateway itself."""
    rows = "\n".join(
        f'<section id="{code}"><h2>{html.escape(t.title)} <small>({t.status}, <code>{code}</code>)</small></h2>'
        f"<p>{html.escape(t.meaning)}</p><p><b>What to do:</b> {html.escape(t.action)}</p></section>"
        for code, t in PROBLEM_TYPES.items()
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Problem types</title></head>'
        "<body><h1>Problem types of the support gateway</h1>"
        "<p>Every error is <code>application/problem+json</code> (RFC 9457) with <code>type</code>, "
        "<code>title</code>, <code>status</code>, <code>detail</code>, <code>correlationId</code> and, "
        "for invalid input, <code>invalid-params</code>.</p>\n"
        f"{rows}</body></html>\n"
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    GatewayError: handle_gateway_error,
    ValidationException: handle_validation,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
