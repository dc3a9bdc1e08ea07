"""The widget page's short-lived API token: the role's scopes and stores, for the agent, widget audience.

The page never holds a long-lived credential: it receives a token in the page body, keeps it in a
script variable only, and renews it before it expires. Tokens are HS256 JWTs under a key derived
from ``GATEWAY_WIDGET_SECRET`` with their own audience, so they are stateless (any gateway process
accepts them) yet can never be mistaken for a caller token, and a caller token never for them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from typing import Final

import msgspec

from app.access import Caller, CallerAuthenticator, TokenVerifier, mint_token
from app.errors import AuthenticationError
from app.mapping.schema import WidgetRole

__all__ = ["WIDGET_AUDIENCE", "IssuedToken", "WidgetTokens", "WithWidgetTokens"]

WIDGET_AUDIENCE: Final = "ctnm-widget"
WIDGET_ISSUER: Final = "ctnm-widget"
TOKEN_TTL_SECONDS: Final = 300


class IssuedToken(msgspec.Struct, frozen=True, rename="camel"):
    token: str
    expires_in: int


def _derived_key(secret: str) -> str:
    # A key of its own: a leaked widget token key must not also sign links, and vice versa.
    return hmac.new(secret.encode(), b"ctnm widget token v1", hashlib.sha256).hexdigest()


class WidgetTokens:
    def __init__(self, secret: str, *, now: Callable[[], float] = time.time) -> None:
        self._key = _derived_key(secret)
        self._now = now
        self._verifier = TokenVerifier(
            self._key, issuer=WIDGET_ISSUER, audience=WIDGET_AUDIENCE, leeway_seconds=0, now=now
        )

    def issue(self, agent_id: str, role: WidgetRole, tickets: Sequence[str]) -> IssuedToken:
        """``tickets``: the references of the ticket the page was opened for (none: it may link nothing)."""
        token = mint_token(
            self._key,
            issuer=WIDGET_ISSUER,
            audience=WIDGET_AUDIENCE,
            subject=agent_id,
            scopes=role.scopes,
            stores=role.stores if role.stores is not None else ["*"],
            ttl_seconds=TOKEN_TTL_SECONDS,
            tickets=tickets,
            now=self._now,
        )
        return IssuedToken(token=token, expires_in=TOKEN_TTL_SECONDS)

    def verify(self, token: str) -> Caller:
        return self._verifier.verify(token)

    def renew(self, token: str) -> IssuedToken:
        """A fresh token for the same agent, scopes, stores and ticket; only while the current one is valid."""
        caller = self.verify(token)
        role = WidgetRole(scopes=sorted(caller.scopes), stores=list(caller.stores) if caller.stores else None)
        return self.issue(caller.subject, role, caller.tickets or ())


class WithWidgetTokens:
    """The API's authenticator, also accepting widget tokens (their audience keeps them apart)."""

    def __init__(self, callers: CallerAuthenticator, widget: WidgetTokens) -> None:
        self._callers = callers
        self._widget = widget

    async def authenticate(self, token: str) -> Caller:
        try:
            return await self._callers.authenticate(token)
        except AuthenticationError:
            try:
                return self._widget.verify(token)
            except AuthenticationError:
                raise AuthenticationError("invalid bearer token (not a caller or widget token)") from None
