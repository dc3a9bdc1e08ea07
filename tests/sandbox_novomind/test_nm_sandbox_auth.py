"""The OAuth2 token endpoint (password grant, two client-auth styles) and the bearer rules."""

import pytest
from litestar.testing import AsyncTestClient

from app.sandbox.novomind import NovomindSandboxConfig, NovomindSandboxState, create_novomind_sandbox
from tests.sandbox_novomind.conftest import (
    CONFIG,
    PASSWORD_FORM,
    ROOT,
    TOKEN_URL,
    Client,
    Headers,
    basic,
    fetch_token,
    known_keys,
)

ERROR_TYPE = "application/json;charset=UTF-8"


async def test_password_grant_with_basic_client_auth(nm_client: Client) -> None:
    response = await nm_client.post(TOKEN_URL, data=PASSWORD_FORM, headers=basic())
    assert response.status_code == 200
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str)
    assert body["access_token"]
    assert len(known_keys(body, {"access_token", "token_type", "expires_in"})) == 1


async def test_password_grant_with_client_credentials_in_the_form(nm_client: Client) -> None:
    form = {**PASSWORD_FORM, "client_id": CONFIG.client_id, "client_secret": CONFIG.client_secret}
    response = await nm_client.post(TOKEN_URL, data=form)
    assert response.status_code == 200
    token = response.json()["access_token"]
    ticket = await nm_client.get(f"{ROOT}/tickets/100042", headers={"Authorization": f"Bearer {token}"})
    assert ticket.status_code == 200


async def test_token_lifetime_is_configurable() -> None:
    app = create_novomind_sandbox(NovomindSandboxConfig(token_ttl_seconds=5))
    async with AsyncTestClient(app) as client:
        response = await client.post(TOKEN_URL, data=PASSWORD_FORM, headers=basic())
    assert response.json()["expires_in"] == 5


@pytest.mark.parametrize(
    ("headers", "extra_form"),
    [
        pytest.param(basic(secret="wrong"), {}, id="basic-wrong-secret"),
        pytest.param(basic(client_id="someone-else"), {}, id="basic-wrong-id"),
        pytest.param({"Authorization": "Basic !!notbase64"}, {}, id="basic-garbage"),
        pytest.param({}, {"client_id": CONFIG.client_id, "client_secret": "wrong"}, id="form-wrong-secret"),
        pytest.param({}, {}, id="no-client-auth"),
    ],
)
async def test_bad_client_is_401_invalid_client(nm_client: Client, headers: Headers, extra_form: Headers) -> None:
    response = await nm_client.post(TOKEN_URL, data={**PASSWORD_FORM, **extra_form}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.json()["error"] == "invalid_client"
    if "Authorization" in headers:
        assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({**PASSWORD_FORM, "password": "wrong"}, id="wrong-password"),
        pytest.param({**PASSWORD_FORM, "username": "intruder"}, id="wrong-username"),
    ],
)
async def test_bad_user_is_400_invalid_grant(nm_client: Client, form: Headers) -> None:
    response = await nm_client.post(TOKEN_URL, data=form, headers=basic())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("grant_type", ["client_credentials", "authorization_code", "refresh_token"])
async def test_other_grants_are_unsupported(nm_client: Client, grant_type: str) -> None:
    response = await nm_client.post(TOKEN_URL, data={**PASSWORD_FORM, "grant_type": grant_type}, headers=basic())
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_missing_grant_type_or_user_is_invalid_request(nm_client: Client) -> None:
    no_grant = await nm_client.post(TOKEN_URL, data={"username": "gateway", "password": "x"}, headers=basic())
    no_user = await nm_client.post(TOKEN_URL, data={"grant_type": "password"}, headers=basic())
    assert no_grant.status_code == no_user.status_code == 400
    assert no_grant.json()["error"] == no_user.json()["error"] == "invalid_request"


def _assert_401(response_status: int, headers: Headers, body: dict[str, object]) -> None:
    assert response_status == 401
    assert headers["content-type"] == ERROR_TYPE
    assert headers["www-authenticate"] == "Bearer"
    assert body["status"] == 401
    assert isinstance(body["message"], str)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer"}, id="empty-bearer"),
        pytest.param({"Authorization": "Bearer not-a-token"}, id="unknown"),
        pytest.param(basic(), id="basic-instead-of-bearer"),
    ],
)
async def test_resources_need_a_valid_bearer_token(nm_client: Client, headers: Headers) -> None:
    for path in ("/categories", "/tickets/100042", "/does-not-exist"):
        response = await nm_client.get(f"{ROOT}{path}", headers=headers)
        _assert_401(response.status_code, dict(response.headers), response.json())


async def test_expired_tokens_are_401_and_a_new_token_works(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    assert (await nm_client.get(f"{ROOT}/categories", headers=auth)).status_code == 200
    nm_state.expire_all_tokens()
    response = await nm_client.get(f"{ROOT}/categories", headers=auth)
    _assert_401(response.status_code, dict(response.headers), response.json())
    fresh = {"Authorization": f"Bearer {await fetch_token(nm_client)}"}
    assert (await nm_client.get(f"{ROOT}/categories", headers=fresh)).status_code == 200


async def test_expire_tokens_control_route(nm_client: Client, auth: Headers) -> None:
    assert (await nm_client.post("/__sim/expire-tokens")).status_code == 204
    assert (await nm_client.get(f"{ROOT}/categories", headers=auth)).status_code == 401


async def test_tokens_expire_after_their_lifetime(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    now = [1000.0]
    nm_state.tokens.clock = lambda: now[0]
    token = {"Authorization": f"Bearer {await fetch_token(nm_client)}"}
    now[0] += 3599
    assert (await nm_client.get(f"{ROOT}/categories", headers=token)).status_code == 200
    now[0] += 1
    assert (await nm_client.get(f"{ROOT}/categories", headers=token)).status_code == 401


async def test_unknown_api_path_with_token_is_404_json(nm_client: Client, auth: Headers) -> None:
    response = await nm_client.get(f"{ROOT}/does-not-exist", headers=auth)
    assert response.status_code == 404
    assert response.headers["content-type"] == ERROR_TYPE
    body = response.json()
    assert body["status"] == 404
    assert len(known_keys(body, {"status", "message"})) == 1
