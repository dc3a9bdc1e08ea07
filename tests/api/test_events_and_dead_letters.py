"""POST /v1/events/commercetools (sender auth, formats, durable queueing) and the dead-letter endpoints."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx
import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.settings import Secret
from app.storage.ports import Storage
from tests.push.payloads import cloudevent, message, platform, pubsub
from tests.support import auth, settings_for

EVENTS: Final = "/v1/events/commercetools"
SECRET: Final = "events-secret-for-tests-0123456789"
AUDIENCE: Final = "https://gateway.example/v1/events/commercetools"
SENDER_EMAIL: Final = "ct-push@shop-project.iam.gserviceaccount.com"
GOOGLE_KEY: Final = RSAKey.generate_key(2048, parameters={"kid": "google-1"})
OTHER_KEY: Final = RSAKey.generate_key(2048, parameters={"kid": "google-1"})


def _jwks(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"keys": [GOOGLE_KEY.as_dict(private=False)]})


def oidc_token(key: RSAKey = GOOGLE_KEY, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "sub": "1234567890",
        "email": SENDER_EMAIL,
        "email_verified": True,
        **overrides,
    }
    return jwt.encode({"alg": "RS256", "kid": "google-1", "typ": "JWT"}, claims, key)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
async def gateway() -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_for("http://commercetools.invalid")
    gateway_settings = msgspec.structs.replace(
        settings.gateway,
        events_secret=Secret(SECRET),
        events_oidc_audience=AUDIENCE,
        events_oidc_email=SENDER_EMAIL,
    )
    app = create_app(
        msgspec.structs.replace(settings, gateway=gateway_settings),
        jwks_transport=httpx.MockTransport(_jwks),
        push=False,
    )
    async with AsyncTestClient(app) as client:
        yield client


def _storage(client: AsyncTestClient[Litestar]) -> Storage:
    storage: Storage = client.app.state.services.storage
    return storage


def _shipped(message_id: str = "m-1", seq: int = 1) -> dict[str, Any]:
    return message("OrderShipmentStateChanged", message_id=message_id, seq=seq, shipmentState="Shipped")


def _pubsub(msg: dict[str, Any]) -> bytes:
    return pubsub(platform(msg))


@pytest.mark.parametrize("encode", [platform, cloudevent, _pubsub], ids=["platform", "cloudevents", "pubsub"])
async def test_each_format_is_queued_once_and_acknowledged_with_202(
    gateway: AsyncTestClient[Litestar], encode: Any
) -> None:
    body = encode(_shipped())
    first = await gateway.post(EVENTS, content=body, headers=bearer(SECRET))
    again = await gateway.post(EVENTS, content=body, headers=bearer(SECRET))
    assert (first.status_code, first.json()) == (202, {"outcome": "queued", "messageId": "m-1"})
    assert (again.status_code, again.json()["outcome"]) == (202, "duplicate")
    stats = await _storage(gateway).queue.stats()
    assert stats.ready == 1


async def test_the_subscription_test_message_is_acknowledged_and_dropped(gateway: AsyncTestClient[Litestar]) -> None:
    body = json.dumps(
        {
            "notificationType": "ResourceCreated",
            "projectKey": "shop",
            "resource": {"typeId": "subscription", "id": "sub-1"},
            "version": 1,
            "modifiedAt": "2024-05-01T10:00:00.000Z",
        }
    ).encode()
    response = await gateway.post(EVENTS, content=body, headers=bearer(SECRET))
    assert (response.status_code, response.json()["outcome"]) == (202, "ignored")
    assert (await _storage(gateway).queue.stats()).ready == 0


async def test_a_verified_oidc_token_of_the_configured_sender_is_accepted(gateway: AsyncTestClient[Litestar]) -> None:
    response = await gateway.post(EVENTS, content=_pubsub(_shipped()), headers=bearer(oidc_token()))
    assert response.status_code == 202


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("not-the-secret-at-all"),
        bearer(SECRET + "x"),
        {"Authorization": f"Basic {base64.b64encode(SECRET.encode()).decode()}"},
        bearer(oidc_token(aud="https://someone-else.example")),
        bearer(oidc_token(iss="https://evil.example")),
        bearer(oidc_token(email="attacker@evil.example")),
        bearer(oidc_token(email_verified=False)),
        bearer(oidc_token(exp=int(time.time()) - 3600)),
        bearer(oidc_token(key=OTHER_KEY)),
        auth(("push:admin", "orders:read")),  # a caller token is not a sender credential
    ],
    ids=[
        "none",
        "wrong-secret",
        "secret-prefix",
        "basic",
        "oidc-audience",
        "oidc-issuer",
        "oidc-email",
        "oidc-unverified",
        "oidc-expired",
        "oidc-forged",
        "caller-token",
    ],
)
async def test_anything_but_the_secret_or_the_configured_oidc_sender_is_401_and_queues_nothing(
    gateway: AsyncTestClient[Litestar], headers: dict[str, str]
) -> None:
    response = await gateway.post(EVENTS, content=platform(_shipped()), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert SECRET not in response.text
    assert (await _storage(gateway).queue.stats()).ready == 0


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"notificationType": "Nonsense"}', b'{"message": {"data": "%%%"}}']
)
async def test_an_undecodable_delivery_is_422_without_quoting_it(
    gateway: AsyncTestClient[Litestar], body: bytes
) -> None:
    response = await gateway.post(EVENTS, content=body, headers=bearer(SECRET))
    assert response.status_code == 422
    assert "%%%" not in response.text


async def test_a_body_over_one_mebibyte_is_413(gateway: AsyncTestClient[Litestar]) -> None:
    response = await gateway.post(EVENTS, content=b"{" + b" " * (1024 * 1024) + b"}", headers=bearer(SECRET))
    assert response.status_code == 413


async def test_dead_letters_are_listed_shown_and_replayed_once_with_push_admin(
    gateway: AsyncTestClient[Litestar],
) -> None:
    await gateway.post(EVENTS, content=platform(_shipped()), headers=bearer(SECRET))
    queue = _storage(gateway).queue
    [delivery] = await queue.receive("test", max_count=1)
    assert await queue.dead_letter(delivery.entry_id, reason="novomind rejected the request (HTTP 400)")
    admin = auth(("push:admin",))

    assert (await gateway.get("/v1/dead-letters", headers=auth(("orders:read",)))).status_code == 403
    listing = await gateway.get("/v1/dead-letters", headers=admin)
    assert listing.status_code == 200
    [letter] = listing.json()["results"]
    assert letter["messageType"] == "OrderShipmentStateChanged"
    assert letter["sequenceNumber"] == 1
    assert letter["reason"] == "novomind rejected the request (HTTP 400)"
    assert "payload" not in letter
    shown = await gateway.get(f"/v1/dead-letters/{letter['id']}", headers=admin)
    assert shown.json() == letter

    replayed = await gateway.post(f"/v1/dead-letters/{letter['id']}/replay", headers=admin)
    again = await gateway.post(f"/v1/dead-letters/{letter['id']}/replay", headers=admin)
    assert replayed.status_code == 202
    assert again.status_code == 404
    stats = await queue.stats()
    assert (stats.ready, stats.dead) == (1, 0)
