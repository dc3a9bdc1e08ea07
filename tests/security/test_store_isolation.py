"""Two-store isolation (OWASP API1, BOLA) over many random store pairs of the seeded sandbox.

For each pair (store A, store B) and a random order of store A, a caller limited to store B asks
for that order and everything hanging off it: by order number, by order id (link writes), by
customer id, by email, by the ticket in its custom field, and through a link an all-stores caller
made to it. Every answer must be exactly the answer to a resource that does not exist (status,
content type and body, with the correlation id, ``fetchedAt`` and the probed value itself
blanked), must never contain an id, order number or email that only store A may see, and must not
change what is stored. The answer for a missing resource is asked once per store and request kind.
The RNG is seeded; the numbers of pairs and probes are printed in the terminal summary.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
from litestar import Litestar

from app.access import SCOPES
from tests.security.harness import SeedData, new_gateway, seed_data, serving, tally
from tests.support import token

SEED = 19
PAIRS = 200
B_SCOPES = ("orders:read", "customers:read", "links:write", "pii:read")
VOLATILE = frozenset({"correlationId", "fetchedAt"})
Shape = tuple[int, str, Any]


@dataclass(frozen=True)
class Visibility:
    """What a caller limited to one store may see."""

    order_ids: frozenset[str]
    order_numbers: frozenset[str]
    customer_ids: frozenset[str]
    emails: frozenset[str]
    tickets: frozenset[str]


def _ticket(order: dict[str, Any]) -> str:
    value = ((order.get("custom") or {}).get("fields") or {}).get("novomindTicketId")
    return value if isinstance(value, str) else ""


def _visible_to(data: SeedData, store: str) -> Visibility:
    orders = data.orders_in(store)
    # Customers without stores are global: commercetools serves them on every in-store endpoint.
    customers = [
        c for c in data.dataset.customers.values() if not c.get("stores") or store in {s["key"] for s in c["stores"]}
    ]
    emails = [*(o.get("customerEmail") for o in orders), *(c.get("email") for c in customers)]
    return Visibility(
        order_ids=frozenset(o["id"] for o in orders),
        order_numbers=frozenset(o["orderNumber"] for o in orders),
        customer_ids=frozenset(c["id"] for c in customers),
        emails=frozenset(e.lower() for e in emails if e),
        tickets=frozenset(t for t in map(_ticket, orders) if t),
    )


def _only_a(a: Visibility, b: Visibility) -> tuple[str, ...]:
    """Strings that identify something of store A that a caller limited to store B may not see."""
    only = (
        (a.order_ids - b.order_ids)
        | (a.order_numbers - b.order_numbers)
        | (a.customer_ids - b.customer_ids)
        | (a.emails - b.emails)
    )
    return tuple(sorted(value.lower() for value in only))


def _blank(value: Any, probe: str) -> Any:
    if isinstance(value, dict):
        return {k: _blank(v, probe) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_blank(v, probe) for v in value]
    if isinstance(value, str):
        return value.replace(probe, "<probe>")
    return value


def _shape(response: httpx.Response, probe: str) -> Shape:
    """What a caller can tell from an answer, minus the correlation id and the value it asked about."""
    body = msgspec.json.decode(response.content) if response.content else None
    return response.status_code, response.headers.get("content-type", ""), _blank(body, probe)


def _leaks(response: httpx.Response, forbidden: Iterable[str]) -> list[str]:
    text = response.text.lower()
    return [value for value in forbidden if value in text]


class Prober:
    """A caller limited to store B: asks about store A's things and compares with missing ones."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        store_b: str,
        forbidden: tuple[str, ...],
        baselines: dict[tuple[Any, ...], Shape],
    ) -> None:
        self.client = client
        self.store_b = store_b
        self.headers = {"Authorization": f"Bearer {token(scopes=B_SCOPES, stores=(store_b,), subject='agent-b')}"}
        self.forbidden = forbidden
        self.baselines = baselines
        self.failures: list[str] = []
        self.probes = 0

    async def _send(
        self, method: str, path: str, value: str, params: dict[str, str], body: dict[str, str] | None
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": {k: v.replace("{}", value) for k, v in params.items()}}
        if body is not None:
            kwargs["json"] = {k: v.replace("{}", value) for k, v in body.items()}
        return await self.client.request(method, path.replace("{}", value), headers=self.headers, **kwargs)

    async def same_as_missing(
        self,
        method: str,
        path: str,
        probe: str,
        missing: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, str] | None = None,
    ) -> None:
        """``{}`` in ``path``/``params``/``body`` is filled with ``probe`` (store A's) and with ``missing``."""
        params = params or {}
        key = (self.store_b, method, path, tuple(params.items()), tuple((body or {}).items()))
        if key not in self.baselines:
            self.baselines[key] = _shape(await self._send(method, path, missing, params, body), missing)
        answer = await self._send(method, path, probe, params, body)
        self.probes += 1
        label = f"{method} {path} {params or ''} {body or ''}".replace("{}", probe)
        if _shape(answer, probe) != self.baselines[key]:
            self.failures.append(f"{label} answered {answer.status_code} {answer.text[:300]}, unlike a missing one")
        leaked = _leaks(answer, self.forbidden)
        if leaked:
            self.failures.append(f"{label} leaks {leaked[:5]}")


async def test_store_limited_callers_see_other_stores_exactly_like_missing_resources(
    ct_sandbox: Litestar, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    # Entered here, not in a fixture: the lifespan's task group must be left by the task that entered it.
    async with serving(new_gateway(ct_sandbox, str(tmp_path))) as client:
        failures, probes = await _run_pairs(client)
    tally("store isolation pairs", PAIRS)
    tally("store isolation probes", probes)
    record_property("store_isolation_pairs", PAIRS)
    record_property("store_isolation_probes", probes)
    assert not failures, f"{len(failures)} isolation failures; the first ones:\n" + "\n".join(failures[:20])


async def _run_pairs(client: httpx.AsyncClient) -> tuple[list[str], int]:
    data = seed_data()
    stores = data.stores
    visible = {store: _visible_to(data, store) for store in stores}
    admin = {"Authorization": f"Bearer {token(scopes=SCOPES, stores=('*',), subject='admin')}"}
    baselines: dict[tuple[Any, ...], Shape] = {}
    rng = random.Random(SEED)
    failures: list[str] = []
    probes = 0

    for i in range(PAIRS):
        store_a, store_b = rng.sample(stores, 2)
        order = rng.choice(data.orders_in(store_a))
        a, b = visible[store_a], visible[store_b]
        prober = Prober(client, store_b, _only_a(a, b), baselines)
        number, order_id = order["orderNumber"], order["id"]
        missing_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        missing_number = f"NOPE-{i}"
        write = f"/v1/links/{700000 + i}"

        # The order itself, by number and by id.
        await prober.same_as_missing("GET", "/v1/orders/{}", number, missing_number)
        await prober.same_as_missing("GET", "/v1/links", number, missing_number, params={"orderNumber": "{}"})
        await prober.same_as_missing("GET", "/v1/lookup", number, missing_number, params={"orderNumber": "{}"})
        await prober.same_as_missing("PUT", write, number, missing_number, body={"orderNumber": "{}"})
        await prober.same_as_missing("PUT", write, order_id, missing_id, body={"orderId": "{}"})

        # Its customer, unless that customer is visible to B too (global customers are).
        customer_id = order.get("customerId")
        if customer_id and customer_id not in b.customer_ids:
            await prober.same_as_missing("GET", "/v1/customers/{}", customer_id, missing_id)
            await prober.same_as_missing("GET", "/v1/orders", customer_id, missing_id, params={"customerId": "{}"})
            await prober.same_as_missing("GET", "/v1/links", customer_id, missing_id, params={"customerId": "{}"})
            await prober.same_as_missing(
                "GET", "/v1/lookup", customer_id, missing_id, params={"contactExternalId": "{}"}
            )
            await prober.same_as_missing("PUT", write, customer_id, missing_id, body={"customerId": "{}"})

        # Its email, unless B has orders or customers of its own with that email.
        email = str(order.get("customerEmail") or "")
        if email and email.lower() not in b.emails:
            for path in ("/v1/orders", "/v1/customers", "/v1/lookup"):
                await prober.same_as_missing("GET", path, email, f"nobody-{i}@example.invalid", params={"email": "{}"})

        # The ticket in its custom field (an automatic link), unless one of B's orders names it too.
        ticket = _ticket(order)
        if ticket and ticket not in b.tickets:
            await prober.same_as_missing("GET", "/v1/lookup", ticket, f"T-9{i:08d}", params={"ticketId": "{}"})

        # None of the refused writes above stored anything.
        if (await client.get(write, headers=admin)).status_code != 404:
            failures.append(f"pair {i}: a refused write by a {store_b} caller stored {write}")

        # A link an all-stores caller made to A's order: invisible and untouchable for B.
        linked = str(600000 + i)
        made = await client.put(f"/v1/links/{linked}", json={"orderNumber": number}, headers=admin)
        assert made.status_code == 201, made.text
        other = f"6{i:08d}"
        await prober.same_as_missing("GET", "/v1/links/{}", linked, other)
        await prober.same_as_missing("GET", "/v1/lookup", linked, other, params={"ticketId": "{}"})
        await prober.same_as_missing("DELETE", "/v1/links/{}", linked, other)
        takeover = {"orderNumber": rng.choice(sorted(b.order_numbers))}
        hijack = await client.put(f"/v1/links/{linked}", json=takeover, headers=prober.headers)
        if hijack.status_code != 404 or _leaks(hijack, prober.forbidden):
            failures.append(f"pair {i}: {store_b} caller re-linking {linked}: {hijack.status_code} {hijack.text[:200]}")
        kept = await client.get(f"/v1/links/{linked}", headers=admin)
        if kept.status_code != 200 or (kept.json()["orderNumber"], kept.json()["version"]) != (number, 1):
            failures.append(f"pair {i}: link {linked} changed by a {store_b} caller: {kept.text[:200]}")

        failures += [f"pair {i} ({store_a} order {number}, caller {store_b}): {f}" for f in prober.failures]
        probes += prober.probes
    return failures, probes
