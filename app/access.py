"""Caller identity: development JWTs (HS256) minted and verified here.

Tokens carry ``iss``, ``aud``, ``exp``, ``sub``, ``scope`` (space-separated) and ``stores`` (store
keys, or ``["*"]`` for every store). Verification pins the algorithm, so ``alg: none`` and
algorithm-confusion tokens fail, and requires every claim above.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from app.errors import AuthenticationError

__all__ = ["SCOPES", "Caller", "TokenVerifier", "mint_token"]

SCOPES = frozenset(
    {"orders:read", "customers:read", "pii:read", "links:write", "customers:write", "push:admin", "audit:read"}
)
_ALGORITHMS = ("HS256",)
_STORE_KEY = re.compile(r"^[A-Za-z0-9_-]{2,256}$")


class Caller(msgspec.Struct, frozen=True):
    subject: str
    scopes: frozenset[str]
    stores: tuple[str, ...] | None
    """Store keys the caller may see; ``None`` means every store."""

    def may_see_store(self, store_key: str | None) -> bool:
        if self.stores is None:
            return True
        # A resource outside every store is visible only to callers not limited to stores.
        return store_key is not None and store_key in self.stores

    def may_see_customer(self, customer_stores: list[str]) -> bool:
        """Customers without stores are global (commercetools serves them on every in-store endpoint)."""
        if self.stores is None or not customer_stores:
            return True
        return any(key in self.stores for key in customer_stores)


class _Claims(msgspec.Struct, frozen=True):
    sub: str
    scope: str
    stores: list[str]


def _key(secret: str) -> OctKey:
    return OctKey.import_key(secret.encode())


def mint_token(
    secret: str,
    *,
    issuer: str,
    audience: str,
    subject: str,
    scopes: Iterable[str],
    stores: Iterable[str],
    ttl_seconds: int,
    now: Callable[[], float] = time.time,
) -> str:
    issued = int(now())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "scope": " ".join(sorted(set(scopes))),
        "stores": list(stores),
    }
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, _key(secret), algorithms=list(_ALGORITHMS))


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience and lifetime; returns the :class:`Caller`."""

    def __init__(
        self,
        secret: str,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int = 30,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._key = _key(secret)
        self._now = now
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    def verify(self, token: str) -> Caller:
        registry = jwt.JWTClaimsRegistry(
            now=int(self._now()),
            leeway=self._leeway,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            decoded = jwt.decode(token, self._key, algorithms=list(_ALGORITHMS))
            registry.validate(decoded.claims)
            claims = msgspec.convert(decoded.claims, _Claims)
        except (JoseError, ValueError, msgspec.ValidationError) as exc:
            # The reason class only: the token itself must never reach a message or log.
            raise AuthenticationError(f"invalid bearer token ({type(exc).__name__})") from None
        scopes = frozenset(claims.scope.split())
        if claims.stores == ["*"]:
            return Caller(subject=claims.sub, scopes=scopes, stores=None)
        if not all(_STORE_KEY.fullmatch(s) for s in claims.stores):
            raise AuthenticationError("invalid bearer token (malformed stores claim)")
        return Caller(subject=claims.sub, scopes=scopes, stores=tuple(dict.fromkeys(claims.stores)))
