"""The one place where errors become HTTP: RFC 9457 ``application/problem+json`` bodies.

Every gateway error class maps to exactly one status here. Bodies carry the error's own safe
``detail`` and the correlation id; never an upstream body, a token or personal data.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from app.errors import (
    AuthenticationError,
    FatalError,
    GatewayError,
    InvalidInputError,
    MissingCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    RetriableError,
    StorageUnavailableError,
    UpstreamContractError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from app.observability import correlation_id, log_event

__all__ = ["EXCEPTION_HANDLERS", "Problem", "problem_responses"]

_logger = logging.getLogger("app.api")
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Most specific first; the first isinstance match wins.
_STATUS: tuple[tuple[type[GatewayError], int], ...] = (
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (UpstreamContractError, 502),
    (UpstreamRejectedError, 502),
    (UpstreamUnavailableError, 503),
    (StorageUnavailableError, 503),
    (RetriableError, 503),
    (FatalError, 500),
)


class InvalidParam(msgspec.Struct, frozen=True):
    name: str
    reason: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """RFC 9457 problem details, plus the correlation id to quote to operators."""

    type: str
    title: str
    status: int
    detail: str
    correlation_id: str
    invalid_params: list[InvalidParam] | None = msgspec.field(default=None, name="invalid-params")


def _problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    invalid: list[InvalidParam] | None = None,
) -> Response[Problem]:
    cid = correlation_id()
    body = Problem(
        type=f"https://ctnm.dev/problems/{code.replace('_', '-')}",
        title=title,
        status=status,
        detail=detail,
        correlation_id=cid,
        invalid_params=invalid,
    )
    # Set here too: requests that match no route never pass the correlation middleware.
    return Response(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers={**(headers or {}), "X-Correlation-ID": cid}
    )


def status_of(exc: GatewayError) -> int:
    return next((status for cls, status in _STATUS if isinstance(exc, cls)), 500)


def handle_gateway_error(_: Request[Any, Any, Any], exc: GatewayError) -> Response[Problem]:
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, MissingCredentialsError):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if isinstance(exc, RetriableError) and exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_seconds)))
    invalid = [InvalidParam(exc.parameter, exc.problem)] if isinstance(exc, InvalidInputError) else None
    if status >= 500:
        log_event(_logger, logging.WARNING, "request.failed", error=exc.code, status=status)
    title = type(exc).__name__.removesuffix("Error")
    return _problem(status, exc.code, title, exc.detail, headers=headers or None, invalid=invalid)


def _camel(name: str) -> str:
    """Litestar reports the handler's argument name; callers know the camelCase parameter."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def handle_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    """Litestar's parameter validation: 422 naming each offending parameter, no upstream call made."""
    invalid = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                invalid.append(InvalidParam(_camel(str(item.get("key", "?"))), str(item.get("message", "invalid"))))
    names = ", ".join(p.name for p in invalid) or "request"
    return _problem(422, "invalid_input", "InvalidInput", f"invalid parameter: {names}", invalid=invalid or None)


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return _problem(exc.status_code, f"http_{exc.status_code}", "HTTPError", exc.detail, headers=headers)


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    _logger.error("request.crashed", exc_info=exc, extra={"fields": {"error": type(exc).__name__}})
    return _problem(500, "internal", "Internal", "unexpected error; quote the correlation id to an operator")


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or invalid bearer token (see WWW-Authenticate)",
    403: "The token lacks the scope this operation declares",
    404: "Not found, or in a store the caller may not see (indistinguishable on purpose)",
    413: "Request body larger than the gateway accepts",
    422: "A parameter cannot be valid; `invalid-params` names it. Nothing was sent upstream",
    502: "commercetools answered something unusable or refused our credentials",
    503: "commercetools is unavailable; retry after Retry-After seconds",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem statuses an operation can answer."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    GatewayError: handle_gateway_error,
    ValidationException: handle_validation,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
