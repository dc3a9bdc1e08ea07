"""Caller authentication and authorization: one guard for every route.

Each route declares what it needs in ``opt``: ``{"scope": "orders:read"}`` (or a tuple of scopes,
all required), ``{"public": True}`` for health and schema routes, or ``{"sender": True}`` for the
event receiver, which authenticates commercetools (not a caller) itself. A route with neither is refused at start-up
(see ``check_routes_declare_access``), so forgetting the declaration can never open a route.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler

from app.access import SCOPES, Caller, CallerAuthenticator
from app.errors import MissingCredentialsError, PermissionDeniedError

__all__ = ["AccessGuard", "check_routes_declare_access", "provide_caller"]


class AccessGuard:
    def __init__(self, authenticator: CallerAuthenticator) -> None:
        self._authenticator = authenticator

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get("public") or handler.opt.get("sender"):
            return
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MissingCredentialsError("a bearer token is required")
        caller = await self._authenticator.authenticate(token.strip())
        missing = [scope for scope in _declared(handler.opt.get("scope")) if scope not in caller.scopes]
        if missing:
            raise PermissionDeniedError(f"scope {' '.join(missing)} is required")
        connection.state.caller = caller


class CallerCharges(Protocol):
    @property
    def forced_refresh_cost(self) -> int: ...

    async def charge_caller(self, subject: str, *, cost: int = 1) -> None: ...


class RateLimitGuard:
    """After :class:`AccessGuard`: counts the request against its caller's rate (429 past it), before
    anything is read. A forced refresh (``Cache-Control: no-cache``) counts as several requests."""

    def __init__(self, limits: CallerCharges) -> None:
        self._limits = limits

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get("public") or handler.opt.get("sender"):
            return
        caller: Caller = connection.state.caller
        forced = "no-cache" in connection.headers.get("cache-control", "").lower()
        await self._limits.charge_caller(caller.subject, cost=self._limits.forced_refresh_cost if forced else 1)


def _declared(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return value
    return ()


def provide_caller(request: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    caller: Caller = request.state.caller
    return caller


def check_routes_declare_access(controllers: Iterable[type[Controller]]) -> None:
    for controller in controllers:
        for name, member in vars(controller).items():
            if not isinstance(member, HTTPRouteHandler) or member.opt.get("public") or member.opt.get("sender"):
                continue
            declared = _declared(member.opt.get("scope"))
            if not declared or not set(declared) <= SCOPES:
                raise RuntimeError(f"{controller.__name__}.{name} declares no known scope (opt={{'scope': ...}})")


def requires(*scopes: str, description: str | None = None) -> dict[str, Any]:
    """A route's access declaration: the guard's ``opt``, the OpenAPI security requirement naming the
    scopes, and a description that says them too, so a client author sees them without the code."""
    needed = " and ".join(f"`{scope}`" for scope in scopes)
    text = f"Requires scope {needed}." if len(scopes) == 1 else f"Requires scopes {needed}."
    return {
        "opt": {"scope": scopes[0] if len(scopes) == 1 else scopes},
        "security": [{"BearerJWT": list(scopes)}],
        "description": f"{description}\n\n{text}" if description else text,
    }
