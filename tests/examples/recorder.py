"""One worked request and answer per API operation, recorded from the real app over the seeded sandbox.

The gateway is built as the tests build it (``tests.support``) over the built-in commercetools
sandbox (the data ``ctnm demo`` serves), reached in-process. Every example in ``EXAMPLES`` runs in
order against one app, so later ones see what earlier ones did (a link put, then read, listed and
deleted; an audit trail of the unmasked reads before it). One dead letter is seeded through the
storage API, after a real commercetools message went through the event receiver.

``openapi/examples.json`` is what ``render_openapi`` embeds in the OpenAPI document and what the
generated section of ``docs/http-api.md`` shows; ``tests/api/test_examples.py`` runs the examples
again and compares, so neither can drift from what the app answers.

    .venv/bin/python scripts/api_examples.py           # record, rewrite docs/http-api.md's section
    .venv/bin/python scripts/api_examples.py --check   # exit 1 when either is out of date
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import httpx
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.sandbox.commercetools import create_commercetools_sandbox
from app.sandbox.commercetools.seed import DEMO_CUSTOMER_EMAIL, DEMO_ORDER_NUMBER, DEMO_TICKET_ID, SHARED_EMAIL
from app.settings import Secret
from app.storage.ports import PushRecord, Storage
from tests.push.payloads import message, platform
from tests.support import REPO, auth, settings_for

EXAMPLES_PATH: Final = REPO / "openapi" / "examples.json"
DOCS_PATH: Final = REPO / "docs" / "http-api.md"
BEGIN: Final = "<!-- BEGIN GENERATED EXAMPLES (scripts/api_examples.py) -->"
END: Final = "<!-- END GENERATED EXAMPLES -->"
EVENTS_SECRET: Final = "events-secret-for-the-examples-0123456789"
EXAMPLE_TICKET: Final = "T-200001"
# A seeded de-store customer without custom fields (the demo customer's are on another Type, which a
# profile patch refuses): its first agent note gets the support-profile Type.
PROFILE_CUSTOMER_ID: Final = "13f47ea3-fc2b-419c-ab4e-8955d3abe56d"

# Values that differ on every run: replaced by one fixed, realistic value before recording and
# before comparing, so a re-run matches while the example still reads like a real answer.
_NOW: Final = "2026-06-01T10:00:00.000Z"
_VOLATILE: Final = {
    "fetchedAt": _NOW,
    "linkedAt": _NOW,
    "enqueuedAt": _NOW,
    "deadAt": _NOW,
    "checkedAt": _NOW,
    "at": _NOW,
    "changedAt": _NOW,
    "correlationId": "3f1c9a2e7b4d4e0f9a8c1b2d3e4f5a6b",
}


@dataclass(frozen=True)
class Example:
    operation: str
    method: str
    path: str
    scopes: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # A body built from values earlier answers gave (e.g. the seeded order's id).
    raw_body: Callable[[dict[str, str]], bytes] | None = None
    # Event receiver: the sender's shared secret instead of a caller token.
    sender: bool = False
    # Run before the request, with the values earlier answers gave: seeds what the example needs.
    prepare: Callable[[Storage, dict[str, str]], Awaitable[None]] | None = None


def _shipped_event(bound: dict[str, str]) -> bytes:
    """A commercetools Message delivery (platform format) about the demo order, as a subscription sends it."""
    return platform(_shipped_message(bound["orderId"]), "demo")


def _shipped_message(order_id: str) -> dict[str, Any]:
    return message(
        "OrderShipmentStateChanged",
        message_id="9c1d0e52-6b1f-4c39-8f0a-2d4b7e3a1c55",
        seq=4,
        order_number=DEMO_ORDER_NUMBER,
        resource_id=order_id,
        shipmentState="Shipped",
        oldShipmentState="Ready",
    )


async def _seed_dead_letter(storage: Storage, _bound: dict[str, str]) -> None:
    # What the pusher does after novomind rejects a status update for good.
    [delivery] = await storage.queue.receive("examples", max_count=1)
    await storage.queue.dead_letter(delivery.entry_id, reason="novomind rejected the request (HTTP 404)")


async def _seed_push_history(storage: Storage, bound: dict[str, str]) -> None:
    # What the pusher records: an earlier change written to the demo ticket (its storage merge and its
    # memo), then the shipped event above, which novomind refused for good (the dead letter above).
    order_id, store = bound["orderId"], bound.get("orderStore")
    confirmed = "Bestellung DE-100001 wurde bestätigt."
    at = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    written = [
        PushRecord(
            ticket_id="100042",
            key=f"example-confirmed-{write}",
            change_kind="order-state",
            state="Confirmed",
            write=write,
            text=confirmed,
            outcome="delivered",
            at=at,
            attempts=1,
            message_id="5b2e8f14-3c7a-4d9e-b1f0-6a8c2d4e7f90",
            order_id=order_id,
            order_number=DEMO_ORDER_NUMBER,
            store=store,
        )
        for write in ("storage", "memo")
    ]
    given_up = PushRecord(
        ticket_id="100042",
        key=f"dead:{bound['deadLetterId']}",
        change_kind="shipment-state",
        state="Shipped",
        write="storage+memo",
        text="Bestellung DE-100001 wurde versandt.",
        outcome="dead-lettered",
        at=at,
        attempts=1,
        dead_letter_id=bound["deadLetterId"],
        reason="novomind rejected the request (HTTP 404)",
        message_id="9c1d0e52-6b1f-4c39-8f0a-2d4b7e3a1c55",
        order_id=order_id,
        order_number=DEMO_ORDER_NUMBER,
        store=store,
    )
    await storage.history.record(written, keep=50)
    await storage.history.record([given_up], keep=50)


READ: Final = ("orders:read",)
LOOKUP: Final = ("customers:read", "orders:read")

EXAMPLES: Final[tuple[Example, ...]] = (
    Example("GetHealth", "GET", "/healthz"),
    Example("GetReadiness", "GET", "/readyz"),
    Example("GetOrder", "GET", f"/v1/orders/{DEMO_ORDER_NUMBER}", READ),
    Example("RevealOrderField", "GET", f"/v1/orders/{DEMO_ORDER_NUMBER}/fields/shippingAddress", (*READ, "pii:read")),
    Example("ListOrders", "GET", "/v1/orders", READ, {"email": SHARED_EMAIL, "limit": "2"}),
    Example("FindCustomers", "GET", "/v1/customers", LOOKUP, {"email": DEMO_CUSTOMER_EMAIL}),
    # One field, audited alone: what the widget's "Show" asks for.
    Example("RevealCustomerField", "GET", "/v1/customers/{customerId}/fields/email", (*LOOKUP, "pii:read")),
    # pii:read: the unmasked view, which the audit trail records (QueryAudit below shows the entry).
    Example("GetCustomer", "GET", "/v1/customers/{customerId}", (*LOOKUP, "pii:read")),
    Example("GetOwnership", "GET", "/v1/ownership", ("customers:read",)),
    Example(
        "PatchCustomer",
        "PATCH",
        "/v1/customers/{profileCustomerId}",
        ("customers:write", "pii:read"),
        body={"custom": {"supportNote": "Prefers e-mail; call back after 17:00"}},
    ),
    Example("Lookup", "GET", "/v1/lookup", LOOKUP, {"ticketId": DEMO_TICKET_ID, "email": DEMO_CUSTOMER_EMAIL}),
    Example("PutLink", "PUT", f"/v1/links/{EXAMPLE_TICKET}", ("links:write",), body={"orderNumber": DEMO_ORDER_NUMBER}),
    Example("GetLink", "GET", f"/v1/links/{EXAMPLE_TICKET}", READ),
    Example("FindLinks", "GET", "/v1/links", READ, {"orderNumber": DEMO_ORDER_NUMBER}),
    Example("DeleteLink", "DELETE", f"/v1/links/{EXAMPLE_TICKET}", ("links:write",)),
    Example("QueryAudit", "GET", "/v1/audit", ("audit:read",), {"limit": "1"}),
    Example(
        "ReceiveCommercetoolsEvent",
        "POST",
        "/v1/events/commercetools",
        raw_body=_shipped_event,
        sender=True,
    ),
    Example("ListDeadLetters", "GET", "/v1/dead-letters", ("push:admin",), {"limit": "10"}, prepare=_seed_dead_letter),
    Example("GetDeadLetter", "GET", "/v1/dead-letters/{deadLetterId}", ("push:admin",)),
    Example(
        "ListTicketPushes",
        "GET",
        f"/v1/tickets/{DEMO_TICKET_ID}/pushes",
        READ,
        {"limit": "10"},
        prepare=_seed_push_history,
    ),
    Example("ReplayDeadLetter", "POST", "/v1/dead-letters/{deadLetterId}/replay", ("push:admin",)),
    Example("GetProblemTypes", "GET", "/problems"),
)


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (_VOLATILE[k] if k in _VOLATILE and v is not None else normalize(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


@asynccontextmanager
async def example_gateway() -> AsyncIterator[AsyncTestClient[Litestar]]:
    # Litestar's __call__ is typed narrower than httpx's generic ASGI callable; it is one.
    transport = httpx.ASGITransport(app=create_commercetools_sandbox())  # type: ignore[arg-type]
    settings = settings_for("http://sandbox.test")
    gateway = msgspec.structs.replace(settings.gateway, events_secret=Secret(EVENTS_SECRET))
    app = create_app(msgspec.structs.replace(settings, gateway=gateway), commercetools_transport=transport, push=False)
    async with AsyncTestClient(app) as client:
        yield client


async def run_examples() -> list[dict[str, Any]]:
    """Every example, run in order against one fresh gateway: the records as committed."""
    records: list[dict[str, Any]] = []
    bound: dict[str, str] = {"profileCustomerId": PROFILE_CUSTOMER_ID}
    async with example_gateway() as client:
        storage: Storage = client.app.state.services.storage
        for example in EXAMPLES:
            if example.prepare is not None:
                await example.prepare(storage, bound)
            path = example.path.format(**bound)
            headers = {"Authorization": f"Bearer {EVENTS_SECRET}"} if example.sender else {}
            if example.scopes:
                headers.update(auth(example.scopes))
            content = example.raw_body(bound) if example.raw_body is not None else None
            if example.body is not None:
                content = json.dumps(example.body).encode()
            if content is not None:
                headers["Content-Type"] = (
                    "application/merge-patch+json" if example.method == "PATCH" else "application/json"
                )
            response = await client.request(
                example.method, path, params=example.params, content=content, headers=headers
            )
            is_json = response.headers.get("content-type", "").split(";")[0].endswith("json")
            answer = response.json() if is_json and response.content else None
            _bind(example.operation, answer, bound)
            records.append(
                {
                    "operation": example.operation,
                    "request": {
                        "method": example.method,
                        "path": path,
                        "query": dict(example.params),
                        "scopes": list(example.scopes),
                        "body": normalize(json.loads(content)) if content else None,
                    },
                    "response": {
                        "status": response.status_code,
                        "contentType": response.headers.get("content-type", "").split(";")[0] or None,
                        "body": normalize(answer),
                    },
                }
            )
    return records


def _bind(operation: str, answer: Any, bound: dict[str, str]) -> None:
    if operation == "GetOrder":
        bound["orderId"] = answer["id"]
        if answer.get("store"):
            bound["orderStore"] = answer["store"]
    if operation == "FindCustomers":
        bound["customerId"] = answer["results"][0]["id"]
    if operation == "ListDeadLetters":
        bound["deadLetterId"] = answer["results"][0]["id"]


def records_text(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def docs_section(records: list[dict[str, Any]]) -> str:
    lines = [
        BEGIN,
        "",
        "Generated from `openapi/examples.json`: each request run against the seeded sandbox (the data",
        "`ctnm demo` serves) and its real answer; `tests/api/test_examples.py` re-runs them. Times and",
        "correlation ids are shown as one fixed value. `$TOKEN` is a token with the scopes named.",
        "",
    ]
    for record in records:
        request, response = record["request"], record["response"]
        url = request["path"] + (f"?{urlencode(request['query'])}" if request["query"] else "")
        lines.append(f"### `{record['operation']}`: `{request['method']} {request['path']}`")
        lines.append("")
        if request["scopes"]:
            lines.append(f"Scopes: `{' '.join(request['scopes'])}`.")
            lines.append("")
        curl = ["curl -s"]
        if request["method"] != "GET":
            curl.append(f"-X {request['method']}")
        if request["scopes"]:
            curl.append('-H "Authorization: Bearer $TOKEN"')
        elif record["operation"] == "ReceiveCommercetoolsEvent":
            curl.append('-H "Authorization: Bearer $GATEWAY_EVENTS_SECRET"')
        if request["body"] is not None:
            curl.append("-H 'Content-Type: application/json'")
            curl.append(f"-d '{json.dumps(request['body'], ensure_ascii=False)}'")
        curl.append(f'"http://127.0.0.1:8000{url}"')
        lines.append("```")
        lines.append("$ " + " \\\n    ".join(curl))
        lines.append(f"HTTP/1.1 {response['status']}")
        if response["body"] is not None:
            lines.append("")
            lines.extend(_shorten(json.dumps(response["body"], indent=2, ensure_ascii=False)).splitlines())
        lines.append("```")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


_MAX_DOC_LINES: Final = 60


def _shorten(text: str) -> str:
    # The full answer is in openapi/examples.json; the page shows the beginning of long ones.
    lines = text.splitlines()
    if len(lines) <= _MAX_DOC_LINES:
        return text
    return "\n".join([*lines[:_MAX_DOC_LINES], "…  (the whole answer: openapi/examples.json)"])


def with_docs_section(document: str, section: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _: section, document)
    return document.rstrip("\n") + "\n\n## Worked examples\n\n" + section + "\n"


def write(records: list[dict[str, Any]]) -> None:
    EXAMPLES_PATH.write_text(records_text(records), encoding="utf-8")
    DOCS_PATH.write_text(
        with_docs_section(DOCS_PATH.read_text(encoding="utf-8"), docs_section(records)), encoding="utf-8"
    )


def out_of_date(records: list[dict[str, Any]]) -> list[Path]:
    stale = []
    if not EXAMPLES_PATH.exists() or EXAMPLES_PATH.read_text(encoding="utf-8") != records_text(records):
        stale.append(EXAMPLES_PATH)
    docs = DOCS_PATH.read_text(encoding="utf-8")
    if with_docs_section(docs, docs_section(records)) != docs:
        stale.append(DOCS_PATH)
    return stale
