"""Requests the sandbox tests make over and over: tokens, authorised GETs."""

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

CLIENT = ("sandbox-client", "sandbox-secret")


async def fetch_token(client: AsyncTestClient[Litestar], scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/oauth/token", data=form, auth=CLIENT)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(
    client: AsyncTestClient[Litestar],
    path: str,
    headers: dict[str, str],
    params: Any = None,
    status: int = 200,
) -> Any:
    response = await client.get(path, headers=headers, params=params)
    assert response.status_code == status, response.text
    return response.json()
