"""Caller tokens verified against a JWKS served over real HTTP on loopback.

A one-route Litestar app plays the identity provider's JWKS endpoint under uvicorn on 127.0.0.1;
the authenticator fetches it with the real httpx transport (no ``jwks_transport``), exactly as
``build_authenticator`` wires it from ``GATEWAY_JWKS_URL``. Where the refetch interval matters, the
keys' clock is one the test moves (``JwksKeys(clock=...)``); HTTP stays real.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any, Final

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey
from litestar import Litestar, get

from app.access import CallerAuthenticator, TokenAuthenticator, build_authenticator
from app.errors import AuthenticationError, UpstreamUnavailableError
from app.jwks import JwksKeys
from app.settings import GatewaySettings
from tests.support import ThreadedServer, free_port

pytestmark = pytest.mark.integration

ISSUER: Final = "https://idp.example.com/"
AUDIENCE: Final = "ct-novomind-gateway"
PATH: Final = "/.well-known/jwks.json"
RSA_OLD: Final = RSAKey.generate_key(2048, parameters={"kid": "2024-rsa"})
RSA_NEW: Final = RSAKey.generate_key(2048, parameters={"kid": "2025-rsa"})
EC_KEY: Final = ECKey.generate_key("P-256", parameters={"kid": "2025-ec"})
HANG: Final = 30.0
"""Only a call that hangs takes this long."""


class IdentityProvider:
    """What the JWKS route serves, and how often it was asked (the route runs in the server's thread)."""

    def __init__(self) -> None:
        self.keys: list[Key] = [RSA_OLD, EC_KEY]
        self.fetches = 0
        self.stalled = False
        self.released = threading.Event()  # ends a stall (set by the test)
        self.url = ""

    def app(self) -> Litestar:
        @get(PATH, media_type="application/jwk-set+json")
        async def jwks() -> dict[str, Any]:
            self.fetches += 1
            if self.stalled:
                # Until the test lets go (bounded, so a failing test cannot keep the server busy).
                await asyncio.to_thread(self.released.wait, 60)
            return {"keys": [key.as_dict(private=False, use="sig") for key in self.keys]}

        return Litestar(route_handlers=[jwks])


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    with ThreadedServer(provider.app()) as server:
        provider.url = server.url + PATH
        yield provider


def token(key: Key, alg: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "agent-7",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "scope": "orders:read",
        "stores": ["de-store"],
        **claims,
    }
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "at+jwt"}, payload, key, algorithms=[alg])


class Clock:
    """A monotonic clock for the keys that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def authenticator_on(url: str, clock: Clock, *, min_refetch_seconds: float = 1) -> CallerAuthenticator:
    return TokenAuthenticator(
        issuer=ISSUER, audience=AUDIENCE, jwks=JwksKeys(url, min_refetch_interval=min_refetch_seconds, clock=clock)
    )


def authenticator(url: str, *, min_refetch_seconds: float = 1) -> CallerAuthenticator:
    settings = GatewaySettings(
        jwks_url=url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwks_min_refetch_seconds=min_refetch_seconds
    )
    return build_authenticator(settings)


async def test_keys_are_fetched_once_and_verify_tokens(idp: IdentityProvider) -> None:
    auth = authenticator(idp.url)
    for _ in range(5):
        assert (await auth.authenticate(token(RSA_OLD, "RS256"))).subject == "agent-7"
        assert (await auth.authenticate(token(EC_KEY, "ES256"))).stores == ("de-store",)
    assert idp.fetches == 1


async def test_rotation_over_http(idp: IdentityProvider) -> None:
    clock = Clock()
    auth = authenticator_on(idp.url, clock)
    old = token(RSA_OLD, "RS256")
    await auth.authenticate(old)
    idp.keys = [RSA_NEW, EC_KEY]  # the issuer rotates: the old key is gone, a new one appears
    # Right after a fetch an unknown kid does not refetch ...
    with pytest.raises(AuthenticationError, match="unknown key id"):
        await auth.authenticate(token(RSA_NEW, "PS256"))
    assert idp.fetches == 1
    # ... once the interval has passed it does, once, and the new key verifies.
    clock.advance(1.05)
    new_tokens = [token(RSA_NEW, "PS256") for _ in range(10)]
    callers = await asyncio.gather(*(auth.authenticate(t) for t in new_tokens))
    assert {c.subject for c in callers} == {"agent-7"}
    assert idp.fetches == 2
    # The withdrawn key no longer verifies.
    with pytest.raises(AuthenticationError, match="unknown key id"):
        await auth.authenticate(old)
    assert idp.fetches == 2


async def test_a_flood_of_unknown_kids_over_http_fetches_once(idp: IdentityProvider) -> None:
    auth = authenticator(idp.url, min_refetch_seconds=30)
    await auth.authenticate(token(EC_KEY, "ES256"))
    stranger = ECKey.generate_key("P-256")
    forged = [
        jwt.encode({"alg": "ES256", "kid": f"random-{i}"}, {"sub": "x"}, stranger, algorithms=["ES256"])
        for i in range(200)
    ]
    results = await asyncio.gather(*(auth.authenticate(t) for t in forged), return_exceptions=True)
    assert all(isinstance(r, AuthenticationError) for r in results)
    assert idp.fetches == 1


async def test_cached_keys_survive_the_jwks_going_away() -> None:
    provider = IdentityProvider()
    clock = Clock()
    with ThreadedServer(provider.app()) as server:
        auth = authenticator_on(server.url + PATH, clock)
        await auth.authenticate(token(EC_KEY, "ES256"))
    # The server is gone (connection refused from now on).
    clock.advance(1.05)
    assert (await auth.authenticate(token(EC_KEY, "ES256"))).subject == "agent-7"
    async with asyncio.timeout(HANG):
        with pytest.raises(UpstreamUnavailableError) as caught:
            await auth.authenticate(token(RSA_NEW, "RS256"))
    assert caught.value.retry_after_seconds is not None
    assert provider.fetches == 1


async def test_nothing_listening_is_retriable_not_a_hang() -> None:
    auth = authenticator(f"http://127.0.0.1:{free_port()}{PATH}")
    async with asyncio.timeout(HANG):
        with pytest.raises(UpstreamUnavailableError):
            await auth.authenticate(token(EC_KEY, "ES256"))


async def test_a_stalled_jwks_endpoint_is_cut_off_by_the_timeout(idp: IdentityProvider) -> None:
    idp.stalled = True
    auth = TokenAuthenticator(issuer=ISSUER, audience=AUDIENCE, jwks=JwksKeys(idp.url, timeout=0.3))
    try:
        # The endpoint answers only once released, after this: failing at all is being cut off.
        with pytest.raises(UpstreamUnavailableError):
            await auth.authenticate(token(EC_KEY, "ES256"))
        assert idp.fetches == 1
    finally:
        idp.released.set()
