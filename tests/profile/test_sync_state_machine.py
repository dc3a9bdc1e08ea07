"""Field ownership holds under any interleaving: a hypothesis state machine drives agent PATCHes through
the gateway, shopper changes in commercetools and deliveries of the resulting Customer* messages
(reordered, duplicated, redelivered past the dedupe window) through the real queue, gate and worker.

Everything is real and in process: the commercetools sandbox (update actions at a version, messages),
the gateway app, the push worker on SQLite, the novomind sandbox's contacts. After every step:

- commercetools holds, per customer, each shopper field at the shopper's latest value and each
  novomind-owned field at the agent's latest value: no write ever took a field its source does not own;
- every update the gateway sent commercetools names novomind-owned fields only, and every contact
  write novomind received names commercetools-owned fields only, each at a value the shopper set;
- once every message has been delivered, the contact holds each shopper field's latest value;
- a message delivered again writes nothing.

The counts of examples and steps run are in the terminal summary ("profile sync figures") and quoted
in docs/profile-sync.md.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from litestar.testing import TestClient

from app.asgi import create_app
from app.commercetools.client import CommercetoolsClient
from app.mapping.loader import load_mappings
from app.mapping.rules import ViewRules
from app.novomind.client import NovomindClient
from app.profile.history import SyncHistory
from app.push.customers import CustomerContacts
from app.push.intake import accept_delivery, to_new_event
from app.push.messages import decode_delivery
from app.push.worker import PushWorker, WorkerOptions
from app.sandbox.commercetools import SandboxConfig, create_commercetools_sandbox
from app.sandbox.commercetools.updates import update_customer
from app.sandbox.novomind import NovomindSandboxConfig, create_novomind_sandbox
from app.settings import NovomindSettings, Secret
from app.storage.sqlite_backend import SqliteStorage
from tests.profile.support import FIGURES, customer_of
from tests.support import MAPPINGS, auth, settings_for

pytestmark = pytest.mark.integration

SHOPPER_FIELDS = ("firstName", "lastName", "dateOfBirth")
AGENT_FIELDS = ("supportNote", "preferredContactChannel")
WRITE = ["customers:write", "customers:read", "orders:read", "pii:read"]
_MAPPINGS = load_mappings(MAPPINGS)
_CT_APP = create_commercetools_sandbox(SandboxConfig())
_CT = _CT_APP.state.sandbox
STATS = FIGURES
for _name in ("state machine examples", "state machine steps", "agent patches", "deliveries", "redeliveries"):
    STATS[_name] = 0

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüß", min_size=1, max_size=8)
dates = st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10)
notes = st.none() | st.text(alphabet="abcdefgh ,.!", min_size=1, max_size=12).filter(str.strip)


class RecordingAsgi(httpx.AsyncBaseTransport):
    """The commercetools sandbox in process; remembers the body of every update the gateway sends."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self._inner = httpx.ASGITransport(app=_CT_APP)  # type: ignore[arg-type]
        self._bodies = bodies

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and "/customers/" in request.url.path:
            self._bodies.append(json.loads(await request.aread()))
        return await self._inner.handle_async_request(request)


class ProfileSyncMachine(RuleBasedStateMachine):
    customers: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        STATS["state machine examples"] += 1
        _CT.reset()
        self.loop = asyncio.new_event_loop()
        self.gateway_updates: list[dict[str, Any]] = []
        self.tmp = tempfile.TemporaryDirectory(prefix="profile-sm-")
        settings = settings_for("http://commercetools.test", data_dir=str(Path(self.tmp.name) / "gateway"))
        app = create_app(settings, commercetools_transport=RecordingAsgi(self.gateway_updates), push=False)
        self.gateway = TestClient(app)
        self.gateway.__enter__()
        self.novomind_app = create_novomind_sandbox(NovomindSandboxConfig())
        self.novomind = self.novomind_app.state.novomind
        self.storage = self.loop.run_until_complete(SqliteStorage.open(Path(self.tmp.name) / "push.sqlite3"))
        self.ct_client = CommercetoolsClient(settings.commercetools, transport=httpx.ASGITransport(app=_CT_APP))  # type: ignore[arg-type]
        self.nm_client = NovomindClient(
            NovomindSettings(
                base_url="http://novomind.test",
                client_id="sandbox-nm-client",
                client_secret=Secret("sandbox-nm-secret"),
                username="gateway",
                password=Secret("sandbox-nm-password"),
            ),
            transport=httpx.ASGITransport(app=self.novomind_app),  # type: ignore[arg-type]
        )
        assert _MAPPINGS.push is not None
        self.worker = PushWorker(
            queue=self.storage.queue,
            idempotency=self.storage.idempotency,
            gates=self.storage.gates,
            links=self.storage.links,
            orders=self.ct_client,
            tickets=self.nm_client,
            rules=_MAPPINGS.push,
            markets=_MAPPINGS.markets,
            auto_link_field=None,
            tracking_url=ViewRules.from_mappings(_MAPPINGS).tracking_url,
            options=WorkerOptions(name="sm-worker", lease_seconds=30.0, gap_wait_seconds=0.0, lock_wait_seconds=0.0),
            clock=time.monotonic,
            customers=CustomerContacts(_MAPPINGS.ownership, self.ct_client, SyncHistory(self.storage.audit, now=_now)),
        )
        self.ids = [customer_of(_CT, custom=None)["id"], customer_of(_CT, custom=None, store="us-store")["id"]]
        # The model: what each side last set, and every value the shopper ever gave a field.
        self.shopper: dict[str, dict[str, Any]] = {}
        self.history: dict[str, dict[str, set[Any]]] = {}
        self.agent: dict[str, dict[str, Any]] = {c: {} for c in self.ids}
        for customer_id in self.ids:
            stored = _CT.dataset.customers[customer_id]
            self.shopper[customer_id] = {f: stored.get(f) for f in SHOPPER_FIELDS}
            self.history[customer_id] = {f: {stored.get(f)} for f in SHOPPER_FIELDS}
        self.seen: set[str] = set()
        self.undelivered: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []

    def teardown(self) -> None:
        self.gateway.__exit__(None, None, None)
        self.loop.run_until_complete(self.ct_client.aclose())
        self.loop.run_until_complete(self.nm_client.aclose())
        self.loop.run_until_complete(self.storage.aclose())
        self.loop.close()
        self.tmp.cleanup()

    def _step(self) -> None:
        STATS["state machine steps"] += 1
        for message in _CT.dataset.messages.values():
            if message["id"] not in self.seen and message["resource"]["typeId"] == "customer":
                self.seen.add(message["id"])
                self.undelivered.append(msgspec.json.decode(msgspec.json.encode(message)))

    def _drain(self) -> None:
        async def drain() -> None:
            while await self.worker.run_once():
                pass

        self.loop.run_until_complete(drain())

    # -- rules ---------------------------------------------------------------------------------

    @rule(index=st.integers(0, 1), field=st.sampled_from(AGENT_FIELDS), value=notes)
    def agent_patches(self, index: int, field: str, value: str | None) -> None:
        customer_id = self.ids[index]
        answer = self.gateway.patch(
            f"/v1/customers/{customer_id}", json={"custom": {field: value}}, headers=auth(scopes=WRITE)
        )
        assert answer.status_code == 200, answer.text
        STATS["agent patches"] += 1
        self.agent[customer_id][field] = value
        self._step()

    @rule(index=st.integers(0, 1), field=st.sampled_from(SHOPPER_FIELDS), value=names)
    def agent_tries_a_shopper_field(self, index: int, field: str, value: str) -> None:
        answer = self.gateway.patch(f"/v1/customers/{self.ids[index]}", json={field: value}, headers=auth(scopes=WRITE))
        assert answer.status_code == 409
        assert (answer.json()["field"], answer.json()["owner"]) == (field, "commercetools")
        self._step()

    @rule(index=st.integers(0, 1), field=st.sampled_from(SHOPPER_FIELDS), name=names, date=dates)
    def shopper_changes(self, index: int, field: str, name: str, date: str) -> None:
        customer_id = self.ids[index]
        value = date if field == "dateOfBirth" else name
        action = {"action": "set" + field[0].upper() + field[1:], field: value}
        stored = _CT.dataset.customers[customer_id]
        update_customer(_CT.dataset, _CT.message_clock, stored, {"version": stored["version"], "actions": [action]})
        self.shopper[customer_id][field] = value
        self.history[customer_id][field].add(value)
        self._step()

    @precondition(lambda self: self.undelivered)
    @rule(data=st.data(), duplicate=st.booleans())
    def a_message_arrives(self, data: st.DataObject, duplicate: bool) -> None:
        message = self.undelivered.pop(data.draw(st.integers(0, len(self.undelivered) - 1)))
        delivery = decode_delivery(json.dumps(message).encode())
        outcome = self.loop.run_until_complete(accept_delivery(self.storage.queue, delivery))
        assert outcome.outcome == "queued"
        if duplicate:  # the subscription delivers it twice: the queue keeps one
            again = self.loop.run_until_complete(accept_delivery(self.storage.queue, delivery))
            assert again.outcome == "duplicate"
        STATS["deliveries"] += 1
        self.delivered.append(message)
        self._drain()
        self._step()

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def a_message_comes_back_after_the_dedupe_window(self, data: st.DataObject) -> None:
        message = data.draw(st.sampled_from(self.delivered))
        event = to_new_event(decode_delivery(json.dumps(message).encode()))
        assert event is not None
        writes = self._contact_writes()
        self.loop.run_until_complete(
            self.storage.queue.enqueue(msgspec.structs.replace(event, message_id=f"{event.message_id}-again"))
        )
        self._drain()
        assert self._contact_writes() == writes, "a message delivered again wrote again"
        STATS["redeliveries"] += 1
        self._step()

    # -- invariants ----------------------------------------------------------------------------

    def _contact_writes(self) -> list[Any]:
        return [r for r in self.novomind.requests if r.method == "PATCH" and "/contacts/" in r.path]

    @invariant()
    def commercetools_holds_each_owners_latest_value(self) -> None:
        for customer_id in self.ids:
            stored = _CT.dataset.customers[customer_id]
            assert {f: stored.get(f) for f in SHOPPER_FIELDS} == self.shopper[customer_id]
            fields = (stored.get("custom") or {}).get("fields", {})
            expected = {f: v for f, v in self.agent[customer_id].items() if v is not None}
            assert fields == expected

    @invariant()
    def the_gateway_wrote_only_novomind_fields(self) -> None:
        for body in self.gateway_updates:
            for action in body["actions"]:
                if action["action"] == "setCustomType":
                    assert action["type"]["key"] == "support-profile"
                    assert set(action["fields"]) <= set(AGENT_FIELDS)
                else:
                    assert action["action"] == "setCustomField", action
                    assert action["name"] in AGENT_FIELDS, action

    @invariant()
    def novomind_got_only_commercetools_fields_at_shopper_values(self) -> None:
        for request in self._contact_writes():
            customer_id = request.path.rsplit("/", 1)[1]
            body = json.loads(request.body)
            assert not set(AGENT_FIELDS) & set(body.get("custom", {})), body
            for field in SHOPPER_FIELDS:
                if field in body:
                    assert body[field] in self.history[customer_id][field], (field, body[field])

    @invariant()
    def once_everything_arrived_the_contact_is_current(self) -> None:
        if self.undelivered:
            return
        for customer_id in self.ids:
            contact = self.novomind.contacts.get(customer_id)
            changed = {f for f in SHOPPER_FIELDS if len(self.history[customer_id][f]) > 1}
            if not changed:
                continue
            assert contact is not None
            for field in changed:
                assert contact.get(field) == self.shopper[customer_id][field], field
            assert not set(AGENT_FIELDS) & set(contact.get("custom", {}))


def _now() -> datetime:
    return datetime.now(UTC)


ProfileSyncMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestProfileSync = ProfileSyncMachine.TestCase
