"""Caller tokens verified with the issuer's JWKS: key selection, refetch bounds, attacks, outages.

The JWKS endpoint is an ``httpx.MockTransport`` that counts fetches and can rotate keys, fail or
stall; the refetch clock is a fake one, so "30 seconds later" costs nothing. Keys are generated
with joserfc (RSA 2048, EC P-256, Ed25519).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from app.access import TokenAuthenticator, build_authenticator, mint_token
from app.errors import AuthenticationError, UpstreamUnavailableError
from app.jwks import JwksKeys
from app.settings import GatewaySettings, Secret, SettingsError, load_gateway_settings
from tests.unit.fakes import Collector, FakeClock

URL: Final = "https://idp.example.com/.well-known/jwks.json"
ISSUER: Final = "https://idp.example.com/"
AUDIENCE: Final = "ct-novomind-gateway"
SECRET: Final = "jwks-test-secret-0123456789abcdefghij"
NOW: Final = 1_800_000_000
HANG: Final = 30.0
"""Only a call that hangs takes this long."""
INTERVAL: Final = 30.0
MAX_AGE: Final = 600.0

RSA_KEY: Final = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
RSA_NEXT: Final = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
ATTACKER_RSA: Final = RSAKey.generate_key(2048, parameters={"kid": "attacker"})
EC_KEY: Final = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
OTHER_EC: Final = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})  # same kid, not published
ED_KEY: Final = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})
DROP: Final = object()


# --- helpers -------------------------------------------------------------------------------------


def public(key: Key, **params: Any) -> dict[str, Any]:
    return {**key.as_dict(private=False), **params}


def claims(at: int = NOW, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "agent-7",
        "iat": at,
        "nbf": at,
        "exp": at + 600,
        "scope": "orders:read pii:read",
        "stores": ["de-store"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


def sign(key: Key, alg: str, payload: dict[str, Any] | None = None, /, **header: Any) -> str:
    fields = {"alg": alg, "kid": key.kid, "typ": "JWT", **header}
    fields = {k: v for k, v in fields.items() if v is not DROP}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # "EdDSA" is a deprecated name (RFC 9864)
        return jwt.encode(fields, payload or claims(), key, algorithms=[alg], default_type=None)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], signer: Callable[[bytes], bytes]) -> str:
    """A compact JWS built by hand, so a test can put anything in the header."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(signer(signing_input.encode()))}"


def signer_for(key: Key, alg: str) -> Callable[[bytes], bytes]:
    model = JWSRegistry.algorithms[alg]
    return lambda message: model.sign(message, key)


def garbage_signature(_: bytes) -> bytes:
    return b"\x01" * 256


class JwksServer:
    """The identity provider's JWKS endpoint: serves ``keys``, counts requests, fails or stalls on demand."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys: list[dict[str, Any]] = list(keys)
        self.requests: list[httpx.Request] = []
        self.reply: Callable[[], httpx.Response] | None = None
        self.error: type[httpx.TransportError] | None = None
        self.delay = 0.0
        self.gate: asyncio.Event | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error("simulated failure", request=request)
        if self.reply is not None:
            return self.reply()
        return httpx.Response(200, json={"keys": self.keys})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def fetches(self) -> int:
        return len(self.requests)


async def settle() -> None:
    """Let every task that is ready run until it waits on something (no timer involved)."""
    for _ in range(20):
        await asyncio.sleep(0)


def jwks_keys(
    server: JwksServer, clock: FakeClock, *, interval: float = INTERVAL, max_age: float = MAX_AGE, timeout: float = 3.0
) -> JwksKeys:
    return JwksKeys(
        URL, transport=server.transport(), min_refetch_interval=interval, max_age=max_age, timeout=timeout, clock=clock
    )


def authenticator(
    server: JwksServer, clock: FakeClock, *, secret: str | None = None, timeout: float = 3.0
) -> TokenAuthenticator:
    return TokenAuthenticator(
        issuer=ISSUER,
        audience=AUDIENCE,
        secret=secret,
        jwks=jwks_keys(server, clock, timeout=timeout),
        now=lambda: NOW,
    )


async def rejected(auth: TokenAuthenticator, token: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        await auth.authenticate(token)
    assert len(token) < 16 or token not in str(caught.value), "the token must never reach the message"
    assert str(caught.value).startswith("invalid bearer token")
    return caught.value


@pytest.fixture
def server() -> JwksServer:
    return JwksServer(public(RSA_KEY), public(EC_KEY), public(ED_KEY))


@pytest.fixture
def auth(server: JwksServer, clock: FakeClock) -> TokenAuthenticator:
    return authenticator(server, clock)


# --- valid tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "alg"),
    [(RSA_KEY, "RS256"), (RSA_KEY, "PS256"), (EC_KEY, "ES256"), (ED_KEY, "Ed25519"), (ED_KEY, "EdDSA")],
)
async def test_valid_asymmetric_tokens_are_accepted(
    auth: TokenAuthenticator, server: JwksServer, key: Key, alg: str
) -> None:
    caller = await auth.authenticate(sign(key, alg))
    assert caller.subject == "agent-7"
    assert caller.scopes == frozenset({"orders:read", "pii:read"})
    assert caller.stores == ("de-store",)
    assert server.fetches == 1
    assert [str(r.url) for r in server.requests] == [URL]


async def test_the_key_set_is_cached(auth: TokenAuthenticator, server: JwksServer, clock: FakeClock) -> None:
    for _ in range(20):
        await auth.authenticate(sign(RSA_KEY, "RS256"))
        await auth.authenticate(sign(EC_KEY, "ES256"))
        clock.advance(10)  # 200 s in all, inside max_age
    assert server.fetches == 1


@pytest.mark.parametrize("typ", [DROP, "JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt"])
async def test_access_token_types_are_accepted(auth: TokenAuthenticator, typ: object) -> None:
    assert (await auth.authenticate(sign(RSA_KEY, "RS256", typ=typ))).subject == "agent-7"


@pytest.mark.parametrize("aud", [AUDIENCE, [AUDIENCE], ["another-api", AUDIENCE]])
async def test_audience_may_be_a_list_containing_ours(auth: TokenAuthenticator, aud: object) -> None:
    assert (await auth.authenticate(sign(RSA_KEY, "RS256", claims(aud=aud)))).subject == "agent-7"


async def test_wildcard_store(auth: TokenAuthenticator) -> None:
    assert (await auth.authenticate(sign(EC_KEY, "ES256", claims(stores=["*"])))).stores is None


# --- unknown kid, rotation and the refetch bound -------------------------------------------------


async def test_unknown_kid_refetches_once_and_then_verifies(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    await auth.authenticate(sign(RSA_KEY, "RS256"))
    clock.advance(INTERVAL)
    server.keys.append(public(RSA_NEXT))  # the issuer publishes its next key
    assert (await auth.authenticate(sign(RSA_NEXT, "RS256"))).subject == "agent-7"
    assert server.fetches == 2
    await auth.authenticate(sign(RSA_NEXT, "RS256"))
    assert server.fetches == 2


async def test_unknown_kid_within_the_interval_is_rejected_without_a_fetch(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    await auth.authenticate(sign(RSA_KEY, "RS256"))
    server.keys.append(public(RSA_NEXT))
    clock.advance(INTERVAL - 1)
    assert "unknown key id" in str(await rejected(auth, sign(RSA_NEXT, "RS256")))
    assert server.fetches == 1
    clock.advance(1)
    assert (await auth.authenticate(sign(RSA_NEXT, "RS256"))).subject == "agent-7"
    assert server.fetches == 2


async def test_a_flood_of_random_kids_costs_one_fetch_per_interval(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    await auth.authenticate(sign(RSA_KEY, "RS256"))
    assert server.fetches == 1
    for i in range(200):  # right after a fetch: no refetch at all
        await rejected(auth, forge({"alg": "RS256", "kid": f"random-{i}"}, claims(), garbage_signature))
    assert server.fetches == 1
    clock.advance(INTERVAL)
    for i in range(200):  # the interval has passed: the first one refetches, the other 199 do not
        await rejected(auth, forge({"alg": "RS256", "kid": f"again-{i}"}, claims(), garbage_signature))
    assert server.fetches == 2
    # Known keys keep working throughout.
    assert (await auth.authenticate(sign(EC_KEY, "ES256"))).subject == "agent-7"
    assert server.fetches == 2


async def test_concurrent_unknown_kids_share_one_fetch(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    await auth.authenticate(sign(RSA_KEY, "RS256"))
    clock.advance(INTERVAL)
    server.keys.append(public(RSA_NEXT))
    server.delay = 0.05
    tokens = [sign(RSA_NEXT, "RS256") for _ in range(20)]
    tokens += [forge({"alg": "ES256", "kid": f"random-{i}"}, claims(), garbage_signature) for i in range(200)]
    results = await asyncio.gather(*(auth.authenticate(t) for t in tokens), return_exceptions=True)
    assert server.fetches == 2
    assert all(not isinstance(r, BaseException) for r in results[:20])
    assert all(isinstance(r, AuthenticationError) for r in results[20:])


async def test_first_use_under_concurrency_fetches_once(auth: TokenAuthenticator, server: JwksServer) -> None:
    server.gate = asyncio.Event()  # the fetch is answered only once every caller has asked
    tokens = [sign(RSA_KEY, "RS256"), sign(EC_KEY, "ES256"), sign(ED_KEY, "Ed25519")] * 10
    callers = [asyncio.create_task(auth.authenticate(t)) for t in tokens]
    await settle()
    assert not any(caller.done() for caller in callers)
    server.gate.set()
    await asyncio.gather(*callers)
    assert server.fetches == 1


async def test_a_cancelled_caller_does_not_cancel_the_shared_fetch(
    auth: TokenAuthenticator, server: JwksServer
) -> None:
    server.gate = asyncio.Event()
    first = asyncio.create_task(auth.authenticate(sign(RSA_KEY, "RS256")))
    others = [asyncio.create_task(auth.authenticate(sign(EC_KEY, "ES256"))) for _ in range(5)]
    await settle()
    assert server.fetches == 1, "the shared fetch is under way"
    first.cancel()
    server.gate.set()
    callers = await asyncio.gather(*others)
    assert {c.subject for c in callers} == {"agent-7"}
    assert server.fetches == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_rotation_drops_the_old_key(auth: TokenAuthenticator, server: JwksServer, clock: FakeClock) -> None:
    old = sign(RSA_KEY, "RS256")
    await auth.authenticate(old)
    # Overlap: both keys published while the issuer switches.
    server.keys = [public(RSA_KEY), public(RSA_NEXT)]
    clock.advance(INTERVAL)
    await auth.authenticate(sign(RSA_NEXT, "RS256"))
    await auth.authenticate(old)
    # The old key is withdrawn; the next fetch forgets it.
    server.keys = [public(RSA_NEXT)]
    clock.advance(INTERVAL)
    await rejected(auth, forge({"alg": "RS256", "kid": "whatever"}, claims(), garbage_signature))  # refetches
    assert server.fetches == 3
    assert "unknown key id" in str(await rejected(auth, old))
    assert (await auth.authenticate(sign(RSA_NEXT, "RS256"))).subject == "agent-7"


async def test_a_withdrawn_key_stops_working_after_max_age(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    token = sign(RSA_KEY, "RS256")
    await auth.authenticate(token)
    server.keys = [public(EC_KEY)]
    clock.advance(MAX_AGE - 1)
    await auth.authenticate(token)  # still cached
    assert server.fetches == 1
    clock.advance(1)
    assert "unknown key id" in str(await rejected(auth, token))
    assert server.fetches == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=45, allow_nan=False), st.integers(min_value=0, max_value=8)),
        min_size=1,
        max_size=25,
    )
)
def test_fetches_never_exceed_one_per_interval(schedule: list[tuple[float, int]]) -> None:
    """Whatever the timing of unknown-kid tokens: fetches <= 1 + elapsed / interval."""

    async def run() -> tuple[int, float]:
        clock = FakeClock()
        server = JwksServer(public(EC_KEY))
        auth = authenticator(server, clock)
        for advance, count in schedule:
            clock.advance(advance)
            tokens = [forge({"alg": "ES256", "kid": f"k{i}"}, claims(), garbage_signature) for i in range(count)]
            await asyncio.gather(*(auth.authenticate(t) for t in tokens), return_exceptions=True)
        return server.fetches, clock.elapsed

    fetches, elapsed = asyncio.run(run())
    assert fetches <= 1 + elapsed // INTERVAL


# --- what may never verify -----------------------------------------------------------------------


async def test_alg_none_is_rejected_without_a_fetch(auth: TokenAuthenticator, server: JwksServer) -> None:
    for alg in ("none", "None", "NONE"):
        await rejected(auth, forge({"alg": alg, "kid": "rsa-1"}, claims(), lambda _: b""))
        await rejected(auth, forge({"alg": alg}, claims(), lambda _: b""))
        await rejected(auth, forge({"alg": alg, "kid": "rsa-1"}, claims(), garbage_signature))
    assert server.fetches == 0


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS512", "ES384", "ES256K", "Ed448", "HS256", "HS512", "RSA-OAEP"])
async def test_algorithms_off_the_list_are_rejected_without_a_fetch(
    auth: TokenAuthenticator, server: JwksServer, alg: str
) -> None:
    error = await rejected(auth, forge({"alg": alg, "kid": "rsa-1"}, claims(), garbage_signature))
    assert "algorithm not allowed" in str(error)
    assert server.fetches == 0


@pytest.mark.parametrize("secret", [None, SECRET])
@pytest.mark.parametrize("material", ["pem", "jwk-json", "modulus"])
async def test_hs256_signed_with_the_public_key_is_rejected(
    server: JwksServer, clock: FakeClock, secret: str | None, material: str
) -> None:
    """Algorithm confusion: the RSA public key (public knowledge) used as the HMAC secret."""
    hmac_key = {
        "pem": RSA_KEY.as_pem(private=False),
        "jwk-json": json.dumps(public(RSA_KEY)).encode(),
        "modulus": base64.urlsafe_b64decode(public(RSA_KEY)["n"] + "=="),
    }[material]
    auth = authenticator(server, clock, secret=secret)
    await auth.authenticate(sign(RSA_KEY, "RS256"))  # the key is cached
    token = forge(
        {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"},
        claims(),
        lambda message: hmac.new(hmac_key, message, hashlib.sha256).digest(),
    )
    error = await rejected(auth, token)
    assert ("signature does not match" if secret else "algorithm not allowed") in str(error)


async def test_oct_keys_in_the_jwks_are_never_used(clock: FakeClock) -> None:
    shared = b"a-symmetric-key-in-the-jwks-0123456789"
    oct_jwk = {"kty": "oct", "kid": "hmac", "k": b64url(shared)}
    server = JwksServer(oct_jwk, public(RSA_KEY))
    token = forge(
        {"alg": "HS256", "kid": "hmac"}, claims(), lambda message: hmac.new(shared, message, hashlib.sha256).digest()
    )
    assert "algorithm not allowed" in str(await rejected(authenticator(server, clock), token))
    assert "signature does not match" in str(await rejected(authenticator(server, clock, secret=SECRET), token))
    keys = jwks_keys(server, clock)
    with pytest.raises(AuthenticationError, match="unknown key id"):
        await keys.key_for("hmac", "RS256")


async def test_an_attacker_key_in_the_jwk_header_is_ignored(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    attacker = ECKey.generate_key("P-256", parameters={"kid": "attacker"})
    embedded = public(attacker)
    # The attacker's kid: unknown to the JWKS, whatever the header carries, before and after a refetch.
    assert "unknown key id" in str(await rejected(auth, sign(attacker, "ES256", jwk=embedded)))
    clock.advance(INTERVAL)
    assert "unknown key id" in str(await rejected(auth, sign(attacker, "ES256", jwk=embedded)))
    # The issuer's kid with the attacker's key embedded: checked against the issuer's key.
    assert "signature does not match" in str(await rejected(auth, sign(attacker, "ES256", kid="ec-1", jwk=embedded)))
    # No kid at all, only the embedded key.
    assert "no key id" in str(await rejected(auth, sign(attacker, "ES256", kid=DROP, jwk=embedded)))
    # An embedded RSA key does not even fit the header size limit.
    await rejected(auth, sign(ATTACKER_RSA, "RS256", kid="rsa-1", jwk=public(ATTACKER_RSA)))
    assert {str(r.url) for r in server.requests} == {URL}


@pytest.mark.parametrize("parameter", ["jku", "x5u"])
async def test_key_urls_in_the_header_are_never_fetched(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock, parameter: str
) -> None:
    elsewhere = "https://attacker.example/keys.json"
    clock.advance(INTERVAL)
    await rejected(auth, sign(ATTACKER_RSA, "RS256", **{parameter: elsewhere}))
    assert "signature does not match" in str(
        await rejected(auth, sign(ATTACKER_RSA, "RS256", kid="rsa-1", **{parameter: elsewhere}))
    )
    # A genuine token that happens to carry the parameter still verifies with the issuer's key.
    assert (await auth.authenticate(sign(RSA_KEY, "RS256", **{parameter: elsewhere}))).subject == "agent-7"
    assert {str(r.url) for r in server.requests} == {URL}


async def test_a_certificate_chain_in_the_header_is_ignored(auth: TokenAuthenticator, server: JwksServer) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.com")])
    start = datetime.now(UTC) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .sign(private, hashes.SHA256())
    )
    chain = [base64.b64encode(certificate.public_bytes(Encoding.DER)).decode()]
    attacker = RSAKey.import_key(private, parameters={"kid": "rsa-1"})
    # A real certificate does not even fit the header size limit (512 encoded bytes, as joserfc's) ...
    assert "header too long" in str(await rejected(auth, sign(attacker, "RS256", x5c=chain)))
    # ... and a short one, with the issuer's kid, is checked against the issuer's key, not the chain.
    assert "signature does not match" in str(
        await rejected(auth, sign(attacker, "RS256", x5c=["MIIBszCCAVmgAwIBAgIU"]))
    )
    assert {str(r.url) for r in server.requests} == {URL}


async def test_a_signature_by_another_key_with_a_published_kid_is_rejected(auth: TokenAuthenticator) -> None:
    assert "signature does not match" in str(await rejected(auth, sign(OTHER_EC, "ES256")))


async def test_a_tampered_payload_is_rejected(auth: TokenAuthenticator) -> None:
    header, _, signature = sign(RSA_KEY, "RS256").split(".")
    payload = b64url(json.dumps(claims(stores=["*"], scope="orders:read pii:read push:admin")).encode())
    assert "signature does not match" in str(await rejected(auth, f"{header}.{payload}.{signature}"))


@pytest.mark.parametrize(
    ("kid", "alg", "signer"),
    [
        ("rsa-1", "ES256", EC_KEY),  # an RSA kid, an EC signature
        ("ec-1", "RS256", RSA_KEY),
        ("ec-1", "EdDSA", ED_KEY),
        ("ed-1", "ES256", EC_KEY),
    ],
)
async def test_the_header_cannot_pick_another_key_type(
    auth: TokenAuthenticator, kid: str, alg: str, signer: Key
) -> None:
    error = await rejected(auth, forge({"alg": alg, "kid": kid}, claims(), signer_for(signer, alg)))
    assert "not for this algorithm" in str(error)


async def test_a_key_published_for_one_algorithm_does_not_verify_another(clock: FakeClock) -> None:
    server = JwksServer(public(RSA_KEY, alg="RS256", use="sig"))
    auth = authenticator(server, clock)
    assert (await auth.authenticate(sign(RSA_KEY, "RS256"))).subject == "agent-7"
    error = await rejected(auth, forge({"alg": "PS256", "kid": "rsa-1"}, claims(), signer_for(RSA_KEY, "PS256")))
    assert "not for this algorithm" in str(error)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "RS256"}, "no key id"),
        ({"alg": "RS256", "kid": ""}, "no key id"),
        ({"alg": "RS256", "kid": 7}, "no key id"),
        ({"kid": "rsa-1"}, "malformed header"),
        ({"alg": ["RS256"], "kid": "rsa-1"}, "malformed header"),
        ({"alg": "RS256", "kid": "rsa-1", "typ": "JWS"}, "not an access token type"),
        ({"alg": "RS256", "kid": "rsa-1", "typ": "dpop+jwt"}, "not an access token type"),
        ({"alg": "RS256", "kid": "rsa-1", "typ": "logout+jwt"}, "not an access token type"),
        ({"alg": "RS256", "kid": "rsa-1", "typ": 1}, "not an access token type"),
        ({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": 1}, "unsupported critical header"),
        ({"alg": "RS256", "kid": "rsa-1", "b64": False, "crit": ["b64"]}, "unsupported critical header"),
    ],
)
async def test_headers_that_are_refused(auth: TokenAuthenticator, header: dict[str, Any], reason: str) -> None:
    signer = signer_for(RSA_KEY, "RS256")
    assert reason in str(await rejected(auth, forge(header, claims(), signer)))


@pytest.mark.parametrize(
    "garbage",
    ["", "a", "a.b", "a.b.c", "a.b.c.d", "....", "Bearer x.y.z", "\x00", "e30.e30.", "W10.e30.x", "eyJhbGci.e30.x"],
)
async def test_garbage_is_rejected(auth: TokenAuthenticator, server: JwksServer, garbage: str) -> None:
    await rejected(auth, garbage)
    assert server.fetches == 0


async def test_an_oversized_token_is_rejected_before_anything_else(auth: TokenAuthenticator) -> None:
    assert "too long" in str(await rejected(auth, sign(RSA_KEY, "RS256", claims(pad="x" * 20_000))))


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://another-idp.example.com/"},
        {"iss": DROP},
        {"aud": "another-service"},
        {"aud": ["another-service"]},
        {"aud": DROP},
        {"exp": NOW - 31},
        {"exp": DROP},
        {"nbf": NOW + 31},
        {"iat": NOW + 3600},
        {"sub": DROP},
        {"sub": ""},
        {"scope": DROP},
        {"scope": ["orders:read"]},
        {"stores": DROP},
        {"stores": "de-store"},
        {"stores": [1]},
        {"stores": ["de store"]},
        {"stores": ["*", "de-store"]},
        {"stores": ["de-store\n"]},
    ],
    ids=lambda changes: ",".join(f"{k}={'<absent>' if v is DROP else v!r}" for k, v in changes.items()),
)
async def test_invalid_claims_are_rejected(auth: TokenAuthenticator, changes: dict[str, Any]) -> None:
    await rejected(auth, sign(EC_KEY, "ES256", claims(**changes)))


async def test_expiry_and_not_before_honour_the_leeway(auth: TokenAuthenticator) -> None:
    assert (await auth.authenticate(sign(RSA_KEY, "RS256", claims(exp=NOW - 29)))).subject == "agent-7"
    assert (await auth.authenticate(sign(RSA_KEY, "RS256", claims(nbf=NOW + 29)))).subject == "agent-7"


# --- the JWKS as it arrives ----------------------------------------------------------------------


def _weak_rsa() -> dict[str, Any]:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point of the test
    numbers = weak.public_key().public_numbers()
    return {"kty": "RSA", "kid": "weak", "n": b64url(numbers.n.to_bytes(128, "big")), "e": "AQAB"}


@pytest.mark.parametrize(
    ("entry", "kid", "alg"),
    [
        (public(RSA_KEY, use="enc", kid="enc"), "enc", "RS256"),
        (public(RSA_KEY, key_ops=["encrypt"], kid="ops"), "ops", "RS256"),
        (public(RSA_KEY, alg="HS256", kid="hs"), "hs", "RS256"),
        (public(RSA_KEY, alg="RSA-OAEP", kid="oaep"), "oaep", "RS256"),
        (public(ECKey.generate_key("P-384"), kid="p384"), "p384", "ES256"),
        (public(OKPKey.generate_key("Ed448"), kid="ed448"), "ed448", "EdDSA"),
        (public(OKPKey.generate_key("X25519"), kid="x25519"), "x25519", "EdDSA"),
        (_weak_rsa(), "weak", "RS256"),
        ({"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}, "broken", "RS256"),
        ({"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": b64url(b"\x01" * 32), "y": b64url(b"\x02" * 32)},
         "off-curve", "ES256"),
        ({"kty": "oct", "kid": "oct", "k": b64url(b"k" * 32)}, "oct", "HS256"),
        ({**public(RSA_KEY), "kid": 5}, "5", "RS256"),
        ("not-an-object", "x", "RS256"),
    ],
)  # fmt: skip
async def test_unusable_jwks_entries_are_dropped(
    clock: FakeClock, app_logs: Collector, entry: object, kid: str, alg: str
) -> None:
    server = JwksServer(public(EC_KEY))
    server.keys.append(entry)  # type: ignore[arg-type]
    keys = jwks_keys(server, clock)
    with pytest.raises(AuthenticationError):
        await keys.key_for(kid, alg)
    assert isinstance(await keys.key_for("ec-1", "ES256"), ECKey)
    assert [(event["keys"], event["skipped"]) for event in app_logs.events("jwks.fetched")] == [(1, 1)]


async def test_private_members_of_a_published_key_are_not_kept(clock: FakeClock) -> None:
    server = JwksServer(RSA_KEY.as_dict(private=True), ED_KEY.as_dict(private=True))
    keys = jwks_keys(server, clock)
    assert not (await keys.key_for("rsa-1", "RS256")).is_private
    assert not (await keys.key_for("ed-1", "Ed25519")).is_private


async def test_a_key_set_without_usable_keys_keeps_the_previous_one(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    token = sign(RSA_KEY, "RS256")
    await auth.authenticate(token)
    server.keys = [{"kty": "oct", "kid": "x", "k": b64url(b"k" * 32)}]
    clock.advance(MAX_AGE)
    assert (await auth.authenticate(token)).subject == "agent-7"
    assert server.fetches == 2


# --- the JWKS endpoint down, broken or slow ------------------------------------------------------


def _big_reply() -> httpx.Response:
    return httpx.Response(200, json={"keys": [public(RSA_KEY, kid=f"k{i}") for i in range(900)]})


BROKEN: Final[dict[str, Callable[[], httpx.Response]]] = {
    "500": lambda: httpx.Response(500, text="oops"),
    "404": lambda: httpx.Response(404),
    "redirect": lambda: httpx.Response(302, headers={"Location": "https://attacker.example/keys.json"}),
    "not-json": lambda: httpx.Response(200, text="<html>login</html>"),
    "not-a-set": lambda: httpx.Response(200, json={"keys": "none"}),
    "array": lambda: httpx.Response(200, json=[public(RSA_KEY)]),
    "too-many-keys": lambda: httpx.Response(200, json={"keys": [public(EC_KEY, kid=f"k{i}") for i in range(101)]}),
    "too-large": _big_reply,
    "empty": lambda: httpx.Response(200, json={"keys": []}),
}


@pytest.mark.parametrize("failure", [*BROKEN, "connect-error", "read-timeout"])
async def test_cold_start_with_the_jwks_unavailable_is_retriable(
    server: JwksServer, clock: FakeClock, app_logs: Collector, failure: str
) -> None:
    if failure == "connect-error":
        server.error = httpx.ConnectError
    elif failure == "read-timeout":
        server.error = httpx.ReadTimeout
    else:
        server.reply = BROKEN[failure]
    auth = authenticator(server, clock)
    token = sign(RSA_KEY, "RS256")
    with pytest.raises(UpstreamUnavailableError) as caught:
        await auth.authenticate(token)
    assert caught.value.retry_after_seconds == pytest.approx(INTERVAL)
    assert token not in str(caught.value)
    assert [e["reason"] for e in app_logs.events("jwks.fetch_failed")]
    # Within the interval nothing is refetched; the answer stays "retry later".
    clock.advance(10)
    with pytest.raises(UpstreamUnavailableError) as again:
        await auth.authenticate(token)
    assert again.value.retry_after_seconds == pytest.approx(INTERVAL - 10)
    assert server.fetches == 1
    # Recovery after the interval.
    server.reply = None
    server.error = None
    clock.advance(INTERVAL)
    assert (await auth.authenticate(token)).subject == "agent-7"
    assert server.fetches == 2
    assert {str(r.url) for r in server.requests} == {URL}


async def test_a_token_that_would_fail_anyway_gets_401_during_an_outage(server: JwksServer, clock: FakeClock) -> None:
    server.error = httpx.ConnectError
    auth = authenticator(server, clock)
    await rejected(auth, sign(RSA_KEY, "RS256", claims(exp=NOW - 3600)))
    await rejected(auth, sign(RSA_KEY, "RS256", claims(aud="elsewhere")))
    await rejected(auth, forge({"alg": "RS256", "kid": "x"}, {"not": "claims"}, garbage_signature))


async def test_cached_keys_keep_working_while_the_jwks_is_down(
    auth: TokenAuthenticator, server: JwksServer, clock: FakeClock
) -> None:
    token = sign(RSA_KEY, "RS256")
    await auth.authenticate(token)
    server.error = httpx.ConnectError
    clock.advance(MAX_AGE + 1)  # stale: this call tries a refresh, which fails
    assert (await auth.authenticate(token)).subject == "agent-7"
    assert server.fetches == 2
    # An uncached kid: the set could not be refreshed, so "retry later", not "bad token".
    clock.advance(INTERVAL)
    with pytest.raises(UpstreamUnavailableError):
        await auth.authenticate(sign(RSA_NEXT, "RS256"))
    assert server.fetches == 3
    assert (await auth.authenticate(sign(EC_KEY, "ES256"))).subject == "agent-7"
    assert server.fetches == 3


async def test_a_stalled_jwks_endpoint_cannot_hang_a_request(server: JwksServer, clock: FakeClock) -> None:
    server.gate = asyncio.Event()  # never set: the endpoint never answers, so only the timeout can end the call
    auth = authenticator(server, clock, timeout=0.2)
    async with asyncio.timeout(HANG):
        with pytest.raises(UpstreamUnavailableError):
            await auth.authenticate(sign(RSA_KEY, "RS256"))


async def test_a_trickling_body_is_bounded_by_the_whole_fetch_timeout(server: JwksServer, clock: FakeClock) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"keys": ['
        for _ in range(100):
            await asyncio.sleep(0.05)  # each chunk well inside any per-read timeout
            yield b" "
        yield b"]}"

    server.reply = lambda: httpx.Response(200, content=trickle())
    auth = authenticator(server, clock, timeout=0.3)
    # The whole body (5 s) would be a valid key set without the key: "unknown key id". Unavailable
    # means the fetch was cut off before the body ended, whatever the machine's speed.
    with pytest.raises(UpstreamUnavailableError):
        await auth.authenticate(sign(RSA_KEY, "RS256"))


# --- composition: secret, JWKS, or both ----------------------------------------------------------


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request to {request.url}")


def real_time_token(key: Key, alg: str) -> str:
    return sign(key, alg, claims(at=int(time.time()), iss="ctnm"))


def dev_token() -> str:
    return mint_token(
        SECRET, issuer="ctnm", audience=AUDIENCE, subject="dev", scopes=["orders:read"], stores=["*"], ttl_seconds=60
    )


async def test_secret_only_accepts_hs256_and_nothing_else() -> None:
    auth = build_authenticator(
        GatewaySettings(jwt_secret=Secret(SECRET)), jwks_transport=httpx.MockTransport(_no_network)
    )
    assert (await auth.authenticate(dev_token())).subject == "dev"
    with pytest.raises(AuthenticationError, match="algorithm not allowed"):
        await auth.authenticate(real_time_token(RSA_KEY, "RS256"))


async def test_jwks_only_accepts_asymmetric_tokens_and_no_hs256(server: JwksServer) -> None:
    auth = build_authenticator(GatewaySettings(jwks_url=URL), jwks_transport=server.transport())
    assert (await auth.authenticate(real_time_token(RSA_KEY, "RS256"))).subject == "agent-7"
    with pytest.raises(AuthenticationError, match="algorithm not allowed"):
        await auth.authenticate(dev_token())


async def test_both_sources_each_with_their_own_algorithms(server: JwksServer) -> None:
    settings = GatewaySettings(jwt_secret=Secret(SECRET), jwks_url=URL)
    auth = build_authenticator(settings, jwks_transport=server.transport())
    assert (await auth.authenticate(dev_token())).subject == "dev"
    assert (await auth.authenticate(real_time_token(EC_KEY, "ES256"))).subject == "agent-7"
    assert server.fetches == 1


async def test_the_refetch_interval_comes_from_the_settings(server: JwksServer, clock: FakeClock) -> None:
    settings = GatewaySettings(jwks_url=URL, jwks_min_refetch_seconds=7)
    auth = build_authenticator(settings, jwks_transport=server.transport(), jwks_clock=clock)
    await auth.authenticate(real_time_token(RSA_KEY, "RS256"))
    server.keys.append(public(RSA_NEXT))
    clock.advance(6.9)
    with pytest.raises(AuthenticationError, match="unknown key id"):
        await auth.authenticate(real_time_token(RSA_NEXT, "RS256"))
    assert server.fetches == 1
    clock.advance(0.2)
    assert (await auth.authenticate(real_time_token(RSA_NEXT, "RS256"))).subject == "agent-7"
    assert server.fetches == 2


async def test_nothing_secret_reaches_messages_or_logs(
    server: JwksServer, clock: FakeClock, app_logs: Collector
) -> None:
    auth = authenticator(server, clock, secret=SECRET)
    tokens = [
        sign(RSA_KEY, "RS256"),
        sign(ATTACKER_RSA, "RS256", kid="rsa-1"),
        sign(RSA_KEY, "RS256", claims(aud="x")),
        forge({"alg": "RS256", "kid": "injected\nkid"}, claims(), garbage_signature),
    ]
    messages: list[str] = []
    for token in tokens:
        try:
            await auth.authenticate(token)
        except AuthenticationError as exc:
            messages.append(str(exc))
    server.error = httpx.ConnectError
    clock.advance(MAX_AGE)
    await auth.authenticate(tokens[0])
    texts = " ".join(messages + app_logs.texts())
    secrets = [*tokens, SECRET, public(RSA_KEY)["n"], public(EC_KEY)["x"], "injected"]
    for token in tokens:
        secrets.extend(token.split("."))
    assert not [s for s in secrets if s in texts]
    assert app_logs.events("jwks.fetched")
    assert app_logs.events("jwks.fetch_failed")


def test_the_jwks_url_is_checked_by_the_key_source_too() -> None:
    for url in ("http://idp.example.com/jwks", "ftp://idp/jwks", "https://user:pw@idp.example.com/jwks", "nope"):
        with pytest.raises(ValueError, match="JWKS URL"):
            JwksKeys(url)


def test_an_authenticator_needs_a_key_source() -> None:
    with pytest.raises(ValueError, match="secret or a JWKS"):
        TokenAuthenticator(issuer=ISSUER, audience=AUDIENCE)


def test_oct_key_import_of_a_pem_is_refused_by_joserfc() -> None:
    """Defence in depth below ours: joserfc 1.8 refuses a public key as an HMAC secret outright."""
    with pytest.raises(ValueError, match="must not be used as oct keys"):
        OctKey.import_key(RSA_KEY.as_pem(private=False))


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        URL,
        "https://login.example.com:8443/realms/x/protocol/openid-connect/certs",
        "http://127.0.0.1:8080/jwks",
        "http://127.0.0.2/jwks",
        "http://[::1]:9000/jwks",
        "http://localhost:9000/jwks",
    ],
)
def test_jwks_url_is_accepted_without_a_secret(url: str) -> None:
    settings = load_gateway_settings({"GATEWAY_JWKS_URL": url})
    assert (settings.jwks_url, settings.jwt_secret, settings.jwks_min_refetch_seconds) == (url, None, 30.0)


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "idp.example.com/jwks",
        "http://idp.example.com/jwks",
        "http://127.0.0.1.example.com/jwks",
        "http://localhost.example.com/jwks",
        "https://idp.example.com:port/jwks",
        "ftp://idp.example.com/jwks",
        "https://svc:hunter2-VALUE@idp.example.com/jwks",
    ],
)
def test_malformed_jwks_url_stops_start_up_with_one_line(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_gateway_settings({"GATEWAY_JWT_SECRET": SECRET, "GATEWAY_JWKS_URL": url})
    assert caught.value.variable == "GATEWAY_JWKS_URL"
    assert str(caught.value).startswith("GATEWAY_JWKS_URL: malformed")
    assert "\n" not in str(caught.value)
    assert "hunter2-VALUE" not in str(caught.value)


@pytest.mark.parametrize(("value", "expected"), [("1", 1.0), (" 45 ", 45.0), ("300.5", 300.5)])
def test_min_refetch_interval_setting(value: str, expected: float) -> None:
    settings = load_gateway_settings({"GATEWAY_JWKS_URL": URL, "GATEWAY_JWKS_MIN_REFETCH_SECONDS": value})
    assert settings.jwks_min_refetch_seconds == expected


@pytest.mark.parametrize("value", ["0", "0.5", "-1", "3601", "nan", "soon"])
def test_malformed_min_refetch_interval_is_named(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_gateway_settings({"GATEWAY_JWKS_URL": URL, "GATEWAY_JWKS_MIN_REFETCH_SECONDS": value})
    assert caught.value.variable == "GATEWAY_JWKS_MIN_REFETCH_SECONDS"
    assert caught.value.problem.startswith("malformed")


def test_neither_secret_nor_jwks_url_stops_start_up() -> None:
    with pytest.raises(SettingsError) as caught:
        load_gateway_settings({"GATEWAY_JWT_ISSUER": "x"})
    assert caught.value.variable == "GATEWAY_JWT_SECRET"
    assert caught.value.problem.startswith("missing")
    assert "GATEWAY_JWKS_URL" in caught.value.problem
