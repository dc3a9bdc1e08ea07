"""Caller tokens: mint/verify round trip, every rejection, and Caller.may_see_store."""

from __future__ import annotations

import base64
import json
from typing import Any, Final

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from app.access import Caller, TokenVerifier, mint_token
from app.errors import AuthenticationError

SECRET: Final = "unit-test-secret-0123456789abcdefghij"
OTHER_SECRET: Final = "another-secret-0123456789abcdefghijkl"
ISSUER: Final = "ctnm"
AUDIENCE: Final = "ct-novomind-gateway"
NOW: Final = 1_800_000_000
LEEWAY: Final = 30


def verifier(now: float = NOW) -> TokenVerifier:
    return TokenVerifier(SECRET, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=LEEWAY, now=lambda: now)


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "agent-7",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
        "scope": "orders:read pii:read",
        "stores": ["de-store", "at_store"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


DROP: Final = object()


def signed(payload: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode({"alg": alg, "typ": "JWT"}, payload, OctKey.import_key(secret.encode()), algorithms=[alg])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rejected(token: str, now: float = NOW) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        verifier(now).verify(token)
    assert token == "" or token not in str(caught.value), "the token must never reach the message"
    return caught.value


def test_mint_and_verify_round_trip() -> None:
    token = mint_token(
        SECRET,
        issuer=ISSUER,
        audience=AUDIENCE,
        subject="agent-7",
        scopes=["orders:read", "pii:read", "orders:read"],
        stores=["de-store", "at_store", "de-store"],
        ttl_seconds=600,
        now=lambda: NOW,
    )
    caller = verifier().verify(token)
    assert caller == Caller(
        subject="agent-7", scopes=frozenset({"orders:read", "pii:read"}), stores=("de-store", "at_store")
    )


def test_minted_claims_are_complete() -> None:
    token = mint_token(
        SECRET,
        issuer=ISSUER,
        audience=AUDIENCE,
        subject="s",
        scopes=["b", "a"],
        stores=["*"],
        ttl_seconds=60,
        now=lambda: NOW,
    )
    header, payload, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "s",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 60,
        "scope": "a b",
        "stores": ["*"],
    }


def test_hand_built_token_verifies() -> None:
    assert verifier().verify(signed(claims())).subject == "agent-7"


def test_wildcard_store_means_every_store() -> None:
    caller = verifier().verify(signed(claims(stores=["*"])))
    assert caller.stores is None
    assert caller.may_see_store("any-store")
    assert caller.may_see_store(None)


def test_bad_signature_is_rejected() -> None:
    header, payload, signature = signed(claims()).split(".")
    forged_payload = b64url(json.dumps(claims(stores=["*"])).encode())
    assert "signature does not match" in str(rejected(f"{header}.{forged_payload}.{signature}"))
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    rejected(f"{header}.{payload}.{flipped}")


def test_token_signed_with_another_secret_is_rejected() -> None:
    assert "signature does not match" in str(rejected(signed(claims(), secret=OTHER_SECRET)))


def test_alg_none_token_is_rejected() -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims()).encode())
    rejected(f"{header}.{payload}.")


def test_other_hmac_algorithm_is_rejected() -> None:
    rejected(signed(claims(), alg="HS512"))


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"iss": DROP},
        {"aud": "another-service"},
        {"aud": DROP},
        {"exp": NOW - LEEWAY - 1},
        {"exp": DROP},
        {"exp": "tomorrow"},
        {"nbf": NOW + LEEWAY + 60},
        {"iat": NOW + 3600},
        {"sub": DROP},
        {"sub": 42},
        {"scope": DROP},
        {"scope": ["orders:read"]},
        {"stores": DROP},
        {"stores": "de-store"},
        {"stores": [1, 2]},
        {"stores": ["de store"]},
        {"stores": ["*", "de-store"]},
        {"stores": ["de-store", "x"]},
        {"stores": ["../admin"]},
    ],
    ids=lambda changes: ",".join(f"{k}={'<absent>' if v is DROP else v!r}" for k, v in changes.items()),
)
def test_invalid_claims_are_rejected(changes: dict[str, Any]) -> None:
    error = rejected(signed(claims(**changes)))
    assert str(error).startswith("invalid bearer token")


def test_expiry_and_not_before_honour_the_leeway() -> None:
    # Within the leeway on either side: accepted.
    assert verifier().verify(signed(claims(exp=NOW - LEEWAY + 1))).subject == "agent-7"
    assert verifier().verify(signed(claims(nbf=NOW + LEEWAY - 1))).subject == "agent-7"
    # A valid token stops being valid once the verifier's clock passes exp + leeway.
    token = signed(claims(exp=NOW + 600))
    assert verifier(now=NOW + 600 + LEEWAY - 1).verify(token).subject == "agent-7"
    rejected(token, now=NOW + 600 + LEEWAY + 1)


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "a.b", "....", "Bearer x.y.z", "\x00"])
def test_garbage_is_rejected(garbage: str) -> None:
    rejected(garbage)


@pytest.mark.parametrize("store", ["de-store\n", "\nde-store", "de-store\r\n"])
def test_store_key_with_a_newline_is_malformed(store: str) -> None:
    # A '$' anchor with re.match would let a trailing newline through; the whole key must match.
    assert "malformed stores" in str(rejected(signed(claims(stores=[store]))))


def test_duplicate_stores_are_collapsed_in_order() -> None:
    caller = verifier().verify(signed(claims(stores=["b-store", "a-store", "b-store"])))
    assert caller.stores == ("b-store", "a-store")


def test_empty_stores_sees_no_store() -> None:
    caller = verifier().verify(signed(claims(stores=[])))
    assert caller.stores == ()
    assert not caller.may_see_store("de-store")
    assert not caller.may_see_store(None)


@pytest.mark.parametrize(
    ("stores", "store_key", "visible"),
    [
        (None, "de-store", True),
        (None, None, True),
        (("de-store",), "de-store", True),
        (("de-store",), "at-store", False),
        (("de-store",), None, False),  # outside every store: only for callers not limited to stores
        (("de-store",), "DE-STORE", False),  # keys are case-sensitive
        (("de-store", "at-store"), "at-store", True),
        ((), "de-store", False),
    ],
)
def test_may_see_store(stores: tuple[str, ...] | None, store_key: str | None, visible: bool) -> None:
    caller = Caller(subject="s", scopes=frozenset(), stores=stores)
    assert caller.may_see_store(store_key) is visible
