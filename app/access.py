"""Caller identity: bearer JWTs verified with a shared secret (HS256) and/or the issuer's JWKS.

Tokens carry ``iss``, ``aud``, ``exp``, ``sub``, ``scope`` (space-separated) and ``stores`` (store
keys, or ``["*"]`` for every store); ``nbf`` and ``iat`` are honoured with a small leeway and a
``typ`` header, if present, must say ``JWT`` or ``at+jwt`` (RFC 9068), so other JWTs of the issuer
(ID tokens with another ``typ``, DPoP proofs, logout tokens) are not accepted as access tokens.

The key is chosen by configuration, never by the token. The header's ``alg`` must be on an
allow-list, and each algorithm has exactly one key source: ``HS256`` only the configured
``GATEWAY_JWT_SECRET``; ``RS256``/``PS256``/``ES256``/``Ed25519``/``EdDSA`` only a key of the
matching type from ``GATEWAY_JWKS_URL``, found by ``kid`` (see :mod:`app.jwks`). So ``alg: none``
fails, an HS256 token "signed" with a public key fails, and ``jku``/``x5u``/``x5c``/``jwk`` in a
header are never used to find a key. Nothing about a token or a key reaches an exception message
or a log line: messages name the reason class only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple, Protocol

import httpx
import msgspec
from cachetools import TLRUCache
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import Key, OctKey
from joserfc.jws import JWSRegistry

from app.errors import AuthenticationError, UpstreamUnavailableError
from app.jwks import ASYMMETRIC_ALGORITHMS, JwksKeys
from app.settings import GatewaySettings

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "HMAC_ALGORITHMS",
    "SCOPES",
    "Caller",
    "CallerAuthenticator",
    "EventSenderAuthenticator",
    "TokenAuthenticator",
    "TokenVerifier",
    "build_authenticator",
    "build_event_sender_authenticator",
    "mint_token",
]

SCOPES = frozenset(
    {"orders:read", "customers:read", "pii:read", "links:write", "customers:write", "push:admin", "audit:read"}
)
#: Algorithms for ``GATEWAY_JWT_SECRET``; a JWKS key never verifies these (``oct`` keys are dropped).
HMAC_ALGORITHMS: Final = ("HS256",)
_STORE_KEY = re.compile(r"^[A-Za-z0-9_-]{2,256}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")
# Compared case-insensitively; "application/" may be omitted (RFC 7515 §4.1.9).
_TYPES: Final = frozenset({"jwt", "at+jwt", "application/jwt", "application/at+jwt"})
_MAX_TOKEN_LENGTH: Final = 16 * 1024
_MAX_HEADER_LENGTH: Final = 512  # joserfc's own limit for the encoded header
DEFAULT_LEEWAY_SECONDS: Final = 30
VERIFIED_TOKENS: Final = 10_000


class Caller(msgspec.Struct, frozen=True):
    subject: str
    scopes: frozenset[str]
    stores: tuple[str, ...] | None
    """Store keys the caller may see; ``None`` means every store."""
    tickets: tuple[str, ...] | None = None
    """Ticket/process references whose links this caller may change; ``None`` means any. A widget
    page's token is bound to the ticket it was opened for, so a page cannot relink other tickets."""

    def may_change_links_of(self, reference: str) -> bool:
        return self.tickets is None or reference in self.tickets

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


class CallerAuthenticator(Protocol):
    """Turns a bearer token into the :class:`Caller` it proves, or raises.

    Raises :class:`AuthenticationError` (401) for any token that is not valid, and
    :class:`UpstreamUnavailableError` (503, ``Retry-After``) only when the token names a JWKS key
    that is not cached and the JWKS could not be fetched: then the token may well be valid and the
    caller should retry rather than discard it.
    """

    async def authenticate(self, token: str) -> Caller: ...


class _Claims(msgspec.Struct, frozen=True):
    sub: str
    scope: str
    stores: list[str]
    tickets: list[str] | None = None


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
    tickets: Iterable[str] | None = None,
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
    if tickets is not None:
        claims["tickets"] = list(tickets)
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, _key(secret), algorithms=list(HMAC_ALGORITHMS))


def _rejected(reason: str) -> AuthenticationError:
    return AuthenticationError(f"invalid bearer token ({reason})")


# joserfc's error codes in the words a caller reads in a 401; an unlisted one is "cannot be verified".
_PLAIN_REASONS: Final = {
    "bad_signature": "its signature does not match",
    "expired_token": "it has expired",
    "missing_claim": "a required claim is missing",
    "invalid_claim": "a claim (issuer, audience or subject) is not what this gateway expects",
    "insecure_claim": "a claim (issuer, audience or subject) is not what this gateway expects",
    "decode_error": "it cannot be read",
    "unsupported_algorithm": "it is signed with an algorithm this gateway does not accept",
}


def _plain(exc: Exception) -> str:
    if isinstance(exc, msgspec.ValidationError):
        return "a claim has the wrong type"
    return _PLAIN_REASONS.get(str(getattr(exc, "error", "")), "it cannot be verified")


class _OneAlgorithm(JWSRegistry):
    """joserfc's registry limited to the one algorithm the key was chosen for.

    Header parameters outside the JWS registry are ignored rather than refused (issuers add their
    own); ``crit`` and ``b64`` never get this far (:func:`_header`).
    """

    def __init__(self, alg: str) -> None:
        super().__init__(algorithms=[alg], strict_check_header=False)
        self._alg = alg

    def get_alg(self, name: str) -> JWSAlgModel:
        if name == "EdDSA" and self._alg == "EdDSA":
            # joserfc warns on every use of the name RFC 9864 deprecates for leaving the curve open;
            # app.jwks pins EdDSA to Ed25519 keys, which makes it exactly "Ed25519".
            return self.algorithms[name]
        return super().get_alg(name)


_REGISTRIES: Final[Mapping[str, _OneAlgorithm]] = {
    alg: _OneAlgorithm(alg) for alg in (*HMAC_ALGORITHMS, *ASYMMETRIC_ALGORITHMS)
}


def _segment(value: str) -> Any:
    """One base64url JSON segment, decoded strictly (joserfc decodes it again when verifying)."""
    if not _BASE64URL.fullmatch(value):
        raise ValueError("not base64url")
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def _header(token: str) -> dict[str, Any]:
    """The protected header, checked for what picks the verification: ``alg``, ``typ``, extensions."""
    if len(token) > _MAX_TOKEN_LENGTH:
        raise _rejected("too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise _rejected("malformed")
    if len(parts[0]) > _MAX_HEADER_LENGTH:
        raise _rejected("header too long")
    try:
        header = _segment(parts[0])
    except (ValueError, binascii.Error):
        raise _rejected("malformed header") from None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise _rejected("malformed header")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _TYPES):
        raise _rejected("not an access token type")
    if "crit" in header or "b64" in header:
        # No JWS extension is understood here, so a critical one must be refused (RFC 7515 §4.1.11).
        raise _rejected("unsupported critical header")
    return header


def _unverified_claims(token: str) -> object:
    try:
        return _segment(token.split(".")[1])
    except (ValueError, binascii.Error, IndexError):
        return None


class _ClaimChecks:
    """Signature with one chosen key and algorithm, then every claim; returns the :class:`Caller`."""

    def __init__(self, *, issuer: str, audience: str, leeway_seconds: int, now: Callable[[], float]) -> None:
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._now = now

    def verify(self, token: str, key: Key, alg: str) -> Caller:
        try:
            decoded = jwt.decode(token, key, registry=_REGISTRIES[alg])
        except (JoseError, ValueError, TypeError) as exc:
            raise _rejected(_plain(exc)) from None
        return self.caller(decoded.claims)

    def caller(self, claims: object) -> Caller:
        if not isinstance(claims, dict):
            raise _rejected("malformed claims")
        registry = jwt.JWTClaimsRegistry(
            now=int(self._now()),
            leeway=self._leeway,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
            parsed = msgspec.convert(claims, _Claims)
        except (JoseError, ValueError, msgspec.ValidationError) as exc:
            # The reason class only: the token itself must never reach a message or log.
            raise _rejected(_plain(exc)) from None
        scopes = frozenset(parsed.scope.split())
        tickets = tuple(parsed.tickets) if parsed.tickets is not None else None
        if parsed.stores == ["*"]:
            return Caller(subject=parsed.sub, scopes=scopes, stores=None, tickets=tickets)
        if not all(_STORE_KEY.fullmatch(s) for s in parsed.stores):
            raise _rejected("malformed stores claim")
        return Caller(subject=parsed.sub, scopes=scopes, stores=tuple(dict.fromkeys(parsed.stores)), tickets=tickets)


class TokenVerifier:
    """HS256 tokens with a shared secret (development, ``ctnm token``): synchronous ``verify``.

    Checks signature, algorithm, issuer, audience and lifetime; returns the :class:`Caller`. Also a
    :class:`CallerAuthenticator` (``authenticate``) for a gateway configured with the secret only.
    """

    def __init__(
        self,
        secret: str,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._key = _key(secret)
        self._checks = _ClaimChecks(issuer=issuer, audience=audience, leeway_seconds=leeway_seconds, now=now)

    def verify(self, token: str) -> Caller:
        alg = _header(token)["alg"]
        if alg not in HMAC_ALGORITHMS:
            raise _rejected("algorithm not allowed")
        return self._checks.verify(token, self._key, alg)

    async def authenticate(self, token: str) -> Caller:
        return self.verify(token)


class _Verified(NamedTuple):
    caller: Caller
    expires: float
    kid: str | None
    """``None`` for a token verified with the shared secret."""
    alg: str
    key: Key


class TokenAuthenticator:
    """HS256 with the secret and/or asymmetric algorithms with JWKS keys; each only with its own algorithms."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        secret: str | None = None,
        jwks: JwksKeys | None = None,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        if secret is None and jwks is None:
            raise ValueError("a secret or a JWKS is required to authenticate callers")
        self._secret_key = _key(secret) if secret is not None else None
        self._jwks = jwks
        self._checks = _ClaimChecks(issuer=issuer, audience=audience, leeway_seconds=leeway_seconds, now=now)
        # A verified token stays verified until it expires: an agent's widget sends the same token
        # with every read, and a signature check costs more than the rest of a cached answer. A
        # JWKS-signed one only while the JWKS still holds the key that verified it (rotation).
        self._verified: TLRUCache[bytes, _Verified] = TLRUCache(
            maxsize=VERIFIED_TOKENS, ttu=lambda _token, value, _now: value.expires, timer=now
        )

    async def authenticate(self, token: str) -> Caller:
        digest = hashlib.sha256(token.encode()).digest()
        known = self._verified.get(digest)
        if known is not None and (
            known.kid is None
            or (self._jwks is not None and await self._jwks.key_for(known.kid, known.alg) is known.key)
        ):
            return known.caller
        caller, key = await self._authenticate(token)
        claims = _unverified_claims(token)  # verified above; only its expiry and key id are read here
        expires = claims.get("exp") if isinstance(claims, dict) else None
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            header = _header(token)
            kid = header.get("kid") if key is not self._secret_key else None
            self._verified[digest] = _Verified(caller, float(expires), kid, header["alg"], key)
        return caller

    async def _authenticate(self, token: str) -> tuple[Caller, Key]:
        header = _header(token)
        alg: str = header["alg"]
        if alg in HMAC_ALGORITHMS and self._secret_key is not None:
            return self._checks.verify(token, self._secret_key, alg), self._secret_key
        if alg in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise _rejected("no key id")
            try:
                key = await self._jwks.key_for(kid, alg)
            except UpstreamUnavailableError:
                # Unverified, and only to choose the status: a token that would fail anyway (expired,
                # another audience, ...) gets 401 now instead of a retry hint.
                self._checks.caller(_unverified_claims(token))
                raise
            return self._checks.verify(token, key, alg), key
        raise _rejected("algorithm not allowed")


def build_authenticator(
    gateway: GatewaySettings,
    *,
    jwks_transport: httpx.AsyncBaseTransport | None = None,
    jwks_clock: Callable[[], float] = time.monotonic,
) -> CallerAuthenticator:
    """The caller authenticator the settings describe: secret (HS256), JWKS (asymmetric), or both.

    ``jwks_transport`` replaces the network for the JWKS fetches (tests); it is never closed here.
    ``jwks_clock`` times the refetch interval (tests move their own). The authenticator holds no open
    connection between fetches, so it needs no shutdown.
    """
    secret = gateway.jwt_secret.reveal() if gateway.jwt_secret is not None else None
    jwks = (
        JwksKeys(
            gateway.jwks_url,
            transport=jwks_transport,
            min_refetch_interval=gateway.jwks_min_refetch_seconds,
            clock=jwks_clock,
        )
        if gateway.jwks_url is not None
        else None
    )
    return TokenAuthenticator(issuer=gateway.jwt_issuer, audience=gateway.jwt_audience, secret=secret, jwks=jwks)


# -- who may deliver commercetools events ----------------------------------------------------------


class EventSenderAuthenticator:
    """``POST /v1/events/commercetools``: the shared secret, or an OIDC ID token from the push service.

    The secret is what a commercetools HTTP destination sends (``AuthorizationHeader``); the OIDC token
    is what an authenticated Google Pub/Sub push subscription sends: RS256, signed by a key of the
    configured JWKS, with the configured audience, an accepted issuer and, when configured, the
    subscription's service-account ``email`` (verified). Either configured way is accepted.
    """

    def __init__(
        self,
        *,
        secret: str | None,
        oidc_audience: str | None = None,
        oidc_issuers: Iterable[str] = (),
        oidc_email: str | None = None,
        jwks: JwksKeys | None = None,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret.encode() if secret is not None else None
        self._audience = oidc_audience or ""
        self._issuers = frozenset(oidc_issuers)
        self._email = oidc_email
        self._jwks = jwks if oidc_audience is not None else None
        self._leeway = leeway_seconds
        self._now = now

    @property
    def configured(self) -> bool:
        return self._secret is not None or self._jwks is not None

    async def authenticate(self, token: str) -> str:
        """The sender's name for logs (``secret`` or ``oidc``); raises ``AuthenticationError``."""
        if self._secret is not None and hmac.compare_digest(token.encode(), self._secret):
            return "secret"
        if self._jwks is None:
            raise _rejected("unknown sender")
        header = _header(token)
        if header["alg"] != "RS256":
            raise _rejected("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _rejected("no key id")
        key = await self._jwks.key_for(kid, "RS256")
        try:
            claims = jwt.decode(token, key, registry=_REGISTRIES["RS256"]).claims
            jwt.JWTClaimsRegistry(
                now=int(self._now()),
                leeway=self._leeway,
                iss={"essential": True, "values": sorted(self._issuers)},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise _rejected(_plain(exc)) from None
        if self._email is not None and (claims.get("email") != self._email or claims.get("email_verified") is not True):
            raise _rejected("not the configured sender")
        return "oidc"


def build_event_sender_authenticator(
    gateway: GatewaySettings, *, jwks_transport: httpx.AsyncBaseTransport | None = None
) -> EventSenderAuthenticator:
    jwks = (
        JwksKeys(
            gateway.events_oidc_jwks_url,
            transport=jwks_transport,
            min_refetch_interval=gateway.jwks_min_refetch_seconds,
        )
        if gateway.events_oidc_audience is not None
        else None
    )
    return EventSenderAuthenticator(
        secret=gateway.events_secret.reveal() if gateway.events_secret is not None else None,
        oidc_audience=gateway.events_oidc_audience,
        oidc_issuers=gateway.events_oidc_issuers.split(),
        oidc_email=gateway.events_oidc_email,
        jwks=jwks,
    )
