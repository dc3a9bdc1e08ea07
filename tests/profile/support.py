"""What the profile sync suites share: customers of the sandbox by kind, and a transport that lets a
shopper change the customer in commercetools at the exact moment the gateway is about to write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.sandbox.commercetools import SandboxState

JsonObject = dict[str, Any]
FIGURES: dict[str, int] = {}
"""Counts for the terminal summary (tests/profile/conftest.py), written by the state machine."""


def customer_of(state: SandboxState, *, custom: str | None, store: str | None = "de-store") -> JsonObject:
    """A seeded customer of ``store`` (``None``: a global one) whose custom Type is ``custom`` (key or None)."""
    types = {t["id"]: t["key"] for t in state.dataset.collection("type").values()}
    for customer in state.dataset.customers.values():
        stores = [s["key"] for s in customer.get("stores") or []]
        if (stores == [store]) if store else not stores:
            type_key = types.get((customer.get("custom") or {}).get("type", {}).get("id"))
            if type_key == custom:
                return customer
    raise AssertionError(f"no seeded customer of {store} with custom type {custom}")


class Interleaving(httpx.AsyncBaseTransport):
    """Forwards every request; before forwarding a customer update, awaits ``before_write`` (if set).

    ``before_write`` plays the shopper: it changes the customer in commercetools between the
    gateway's read and its write, so the gateway's version is stale exactly when it writes.
    """

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.before_write: Callable[[], Awaitable[None]] | None = None
        self.writes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and "/customers/" in request.url.path:
            self.writes += 1
            if self.before_write is not None:
                await self.before_write()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Shopper:
    """Changes customers in commercetools the way the shop does: update actions at the current version."""

    def __init__(self, base_url: str, project_key: str, client_id: str, client_secret: str) -> None:
        self._base = base_url
        self._project = project_key
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None

    async def _headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        if self._token is None:
            answer = await http.post(
                f"{self._base}/oauth/token",
                data={"grant_type": "client_credentials", "scope": f"manage_project:{self._project}"},
                auth=(self._client_id, self._client_secret),
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    async def get(self, customer_id: str) -> JsonObject:
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"{self._base}/{self._project}/customers/{customer_id}", headers=await self._headers(http)
            )
            answer.raise_for_status()
            found: JsonObject = answer.json()
            return found

    async def update(self, customer_id: str, *actions: JsonObject) -> JsonObject:
        """Apply ``actions`` at the customer's current version (read just before)."""
        current = await self.get(customer_id)
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"{self._base}/{self._project}/customers/{customer_id}",
                json={"version": current["version"], "actions": list(actions)},
                headers=await self._headers(http),
            )
            answer.raise_for_status()
            updated: JsonObject = answer.json()
            return updated
