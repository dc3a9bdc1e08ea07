"""Orchestration shared by the push proofs (the fixtures that use it are in ``conftest.py``).

- **The world**: seeded commercetools orders (the sandbox's own data set), one novomind ticket and one
  stored link per order, and per order a stream of *real* commercetools messages, made by the
  commercetools sandbox's ``POST /__sandbox/orders/{id}/messages``: the sandbox applies each change to
  the order and answers the messages with their ``sequenceNumber`` and ``resourceVersion``, so the
  messages and the order's latest state agree, as they do in commercetools.

  Every order is *primed* first: one change, delivered and drained, so the gateway has seen the order
  (its first message is a gap by definition and makes the worker re-read the order, which sets the
  order's mark). Only then are the stream's changes made. Without that, the first re-read would already
  read the order's final version and every later message would be (rightly) dropped as covered by it:
  the proofs would never see a message applied on its own.
- **The pusher**: ``ctnm push`` as a subprocess in its own process group (SIGKILL-able), or the same
  runtime in-process (:func:`app.asgi.build_pusher`) when a test wants the worker's ``observe`` hook.
- **The verdict**: the novomind sandbox's own books (``/__sim/effects``, ``/__sim/requests``,
  ``/__sim/memos``, ``/__sim/tickets``) read back into one outcome per message: written in order,
  re-read (the gap rule's snapshot), covered by a re-read, or lost; and every ticket's final state
  against its order's.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

from app.asgi import build_pusher
from app.mapping.loader import load_mappings
from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.push.ordering import effect_key
from app.push.runtime import PushRuntime
from app.push.worker import Outcome
from app.sandbox.commercetools.dataset import Dataset
from app.settings import Settings, load_settings
from app.storage.factory import open_storage
from app.storage.ports import Delivery, Link, QueueStats, Storage
from tests.push.payloads import cloudevent, platform, pubsub
from tests.support import JWT_SECRET, MAPPINGS, REPO

JsonObject = dict[str, Any]

EVENTS_SECRET: Final = "proof-events-secret-0123456789"
CACHE_KEY: Final = "proof-cache-key-0123456789abcdef0123456789"
PROJECT_KEY: Final = "demo"
API_ROOT: Final = "/iMail/api/rest/"
STORAGE_PATH: Final = "/iMail/api/rest/tickets/{}/storage"
MEMO_PATH: Final = "/iMail/api/rest/processes/{}/memos"
AUTO_LINK_FIELD: Final = "novomindTicketId"
"""Orders carrying this custom field are linked automatically to a ticket the sandbox does not have: skipped."""
FORMATS: Final = ("platform", "cloudevents", "pubsub")
STATE_FIELDS: Final = (
    ("orderState", "ct.orderState"),
    ("shipmentState", "ct.shipmentState"),
    ("paymentState", "ct.paymentState"),
)
"""commercetools order field -> the ticket storage key the pusher writes it to (mappings/push.toml)."""

# Changes whose every target state has a memo text in mappings/push.toml: each applied message writes
# exactly two things (storage merge, memo), so "one memo per applied message" is checkable.
_CHANGES: Final = (
    ("OrderStateChanged", "orderState", ("Confirmed", "Complete", "Cancelled")),
    (
        "OrderShipmentStateChanged",
        "shipmentState",
        ("Ready", "Shipped", "Delivered", "Delayed", "Partial", "Backorder"),
    ),
    ("OrderPaymentStateChanged", "paymentState", ("Paid", "Failed", "CreditOwed")),
)


def random_change(rng: random.Random) -> JsonObject:
    type_, state_field, values = rng.choice(_CHANGES)
    return {"type": type_, state_field: rng.choice(values)}


# -- where the stores live --------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    name: str
    """``sqlite`` (a file in ``data_dir``) or ``redis`` (a throwaway redis-server)."""
    data_dir: Path
    redis_url: str | None = None

    async def open(self) -> Storage:
        return await open_storage(redis_url=self.redis_url, data_dir=str(self.data_dir))


def proof_mappings(target: Path, *, backoff_base_seconds: float = 0.2, backoff_cap_seconds: float = 2.0) -> Path:
    """The repository's mappings with a shorter retry backoff (a bounded test, same max-attempts)."""
    shutil.copytree(MAPPINGS, target)
    push = target / "push.toml"
    text = push.read_text(encoding="utf-8")
    patched = text.replace("backoff-base-seconds = 1.0", f"backoff-base-seconds = {backoff_base_seconds}").replace(
        "backoff-cap-seconds = 300.0", f"backoff-cap-seconds = {backoff_cap_seconds}"
    )
    assert patched != text, "mappings/push.toml [retry] changed: update proof_mappings()"
    push.write_text(patched, encoding="utf-8")
    return target


def gateway_env(
    *,
    ct_url: str,
    novomind_url: str,
    backend: Backend,
    mappings_dir: Path,
    lease_seconds: float = 3.0,
    log_level: str = "INFO",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of a ``ctnm`` subprocess: nothing inherited but the basics."""
    from app.sandbox.novomind import NovomindSandboxConfig

    nm = NovomindSandboxConfig()
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT") if name in os.environ}
    env |= {
        # The code under test is this checkout's, whichever one the virtualenv was installed from.
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "CTP_PROJECT_KEY": PROJECT_KEY,
        "CTP_CLIENT_ID": "sandbox-client",
        "CTP_CLIENT_SECRET": "sandbox-secret",
        "CTP_AUTH_URL": ct_url,
        "CTP_API_URL": ct_url,
        "NOVOMIND_BASE_URL": novomind_url,
        "NOVOMIND_CLIENT_ID": nm.client_id,
        "NOVOMIND_CLIENT_SECRET": nm.client_secret,
        "NOVOMIND_USERNAME": nm.username,
        "NOVOMIND_PASSWORD": nm.password,
        "GATEWAY_JWT_SECRET": JWT_SECRET,
        "GATEWAY_EVENTS_SECRET": EVENTS_SECRET,
        "GATEWAY_DATA_DIR": str(backend.data_dir),
        "GATEWAY_MAPPINGS_DIR": str(mappings_dir),
        "GATEWAY_RATE_LIMITS": "false",  # the proofs count effects, not requests per second
        "GATEWAY_PUSH_LEASE_SECONDS": f"{lease_seconds:g}",
        "GATEWAY_LOG_LEVEL": log_level,
    }
    if backend.redis_url is not None:
        env["REDIS_URL"] = backend.redis_url
        env["GATEWAY_CACHE_KEY"] = CACHE_KEY
    return env | (extra or {})


def settings_of(env: dict[str, str], *, lease_seconds: float | None = None) -> Settings:
    """What a ``ctnm`` process started with ``env`` would run with (in-process runs use the same).

    In-process proofs pass a longer lease: nobody is killed there, and a busy test process (workers
    and both sandboxes share one interpreter) must not lose leases to slowness.
    """
    if lease_seconds is not None:
        env = env | {"GATEWAY_PUSH_LEASE_SECONDS": f"{lease_seconds:g}"}
    return load_settings(env)


# -- the world: orders, tickets, links, messages -----------------------------------------------------


@dataclass
class OrderStream:
    """One order, its ticket, and the messages commercetools emitted for it (ascending sequence numbers)."""

    order_id: str
    order_number: str
    ticket_id: int
    messages: list[JsonObject] = field(default_factory=list)
    """The stream under test (after the primer)."""
    primer: JsonObject | None = None

    @property
    def last(self) -> JsonObject:
        return self.messages[-1]


def candidate_orders(dataset: Dataset, count: int, *, skip: int = 0) -> list[JsonObject]:
    """Seeded orders without an automatic ticket link (their tickets would be unknown to novomind)."""
    found = [
        order
        for order in dataset.orders.values()
        if AUTO_LINK_FIELD not in ((order.get("custom") or {}).get("fields") or {})
    ]
    assert len(found) >= skip + count, f"the sandbox has only {len(found)} orders without an automatic link"
    return found[skip : skip + count]


async def change_order(client: httpx.AsyncClient, order_id: str, payloads: list[JsonObject]) -> list[JsonObject]:
    """Apply ``payloads`` to the order in the commercetools sandbox; its messages, consecutive sequence numbers."""
    response = await client.post(f"/__sandbox/orders/{order_id}/messages", json=payloads)
    assert response.status_code == 201, response.text
    messages: list[JsonObject] = response.json()
    sequence = [m["sequenceNumber"] for m in messages]
    assert sequence == list(range(sequence[0], sequence[0] + len(sequence))), sequence
    return messages


async def make_streams(
    ct_url: str,
    orders: Sequence[JsonObject],
    *,
    per_order: Callable[[int], int],
    rng: random.Random,
    first_ticket: int,
) -> list[OrderStream]:
    """Change every order ``per_order(i)`` times at random in the commercetools sandbox; keep its messages."""
    streams = [OrderStream(o["id"], o["orderNumber"], first_ticket + i) for i, o in enumerate(orders)]
    await extend_streams(ct_url, streams, per_order=per_order, rng=rng)
    return streams


async def extend_streams(
    ct_url: str, streams: Sequence[OrderStream], *, per_order: Callable[[int], int], rng: random.Random
) -> None:
    async with httpx.AsyncClient(base_url=ct_url, timeout=30) as client:
        for index, stream in enumerate(streams):
            payloads = [random_change(rng) for _ in range(per_order(index))]
            stream.messages += await change_order(client, stream.order_id, payloads) if payloads else []


async def primed_streams(
    ct_url: str,
    orders: Sequence[JsonObject],
    *,
    storage: Storage,
    novomind: NovomindSim,
    settings: Settings,
    per_order: Callable[[int], int],
    rng: random.Random,
    first_ticket: int,
) -> list[OrderStream]:
    """Tickets and links seeded, every order primed (one change, delivered, drained), then the streams made."""
    streams = [OrderStream(o["id"], o["orderNumber"], first_ticket + i) for i, o in enumerate(orders)]
    await seed(storage, novomind, streams)
    async with httpx.AsyncClient(base_url=ct_url, timeout=30) as client:
        for stream in streams:
            [stream.primer] = await change_order(client, stream.order_id, [random_change(rng)])
    for stream in streams:
        assert stream.primer is not None
        await accept_delivery(storage.queue, decode_delivery(encode_delivery(stream.primer, "platform")))
    async with running_pusher(settings, storage, workers=1):
        await wait_drained(storage, timeout=30)
    assert await storage.queue.dead_letters() == []
    await extend_streams(ct_url, streams, per_order=per_order, rng=rng)
    return streams


async def seed(storage: Storage, novomind: NovomindSim, streams: Sequence[OrderStream]) -> None:
    """A novomind ticket per order (its own process) and the stored link order -> ticket."""
    await novomind.seed_tickets([s.ticket_id for s in streams])
    now = datetime.now(UTC)
    links = [
        Link(kind="ticket", reference=str(s.ticket_id), order_id=s.order_id, linked_by="push-proof", linked_at=now)
        for s in streams
    ]
    assert await storage.links.put_many(links) == len(links)


def interleaved(streams: Sequence[OrderStream], rng: random.Random) -> list[JsonObject]:
    """All messages, each order's in sequence, orders mixed at random (as one subscription delivers them)."""
    cursors = [list(s.messages) for s in streams]
    out: list[JsonObject] = []
    while any(cursors):
        pick = rng.choice([c for c in cursors if c])
        out.append(pick.pop(0))
    return out


def encode_delivery(message: JsonObject, fmt: str) -> bytes:
    """A subscription delivery of ``message`` in one of commercetools' three formats."""
    if fmt == "platform":
        return platform(message, PROJECT_KEY)
    if fmt == "cloudevents":
        return cloudevent(message, PROJECT_KEY)
    if fmt == "pubsub":
        return pubsub(platform(message, PROJECT_KEY), message_id=f"ps-{message['id']}")
    raise ValueError(fmt)


# -- the queue ----------------------------------------------------------------------------------------


def outstanding(stats: QueueStats) -> int:
    return stats.ready + stats.delayed + stats.in_flight


HANG_SECONDS: Final = 300.0
"""The least a wait on the queue allows before it calls the run stuck: a guard against a hang, far
above what any proof needs on a loaded machine, so that no outcome rests on the machine's speed."""


async def wait_drained(storage: Storage, *, timeout: float, settle: float = 0.0) -> float:
    """Seconds until nothing is ready, delayed or in flight; ``AssertionError`` only after ``timeout``
    or ``HANG_SECONDS``, whichever is longer (the caller's figure is what it expects, not a budget)."""
    timeout = max(timeout, HANG_SECONDS)
    started = time.monotonic()
    while True:
        stats = await storage.queue.stats()
        if outstanding(stats) == 0:
            if settle:
                await asyncio.sleep(settle)
                if outstanding(await storage.queue.stats()) == 0:
                    return time.monotonic() - started
                continue
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"queue not drained within {timeout} s: {stats}"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running_pusher(
    settings: Settings,
    storage: Storage,
    *,
    workers: int,
    observe: Callable[[Delivery, Outcome, int], None] | None = None,
) -> AsyncIterator[PushRuntime]:
    """The pusher ``ctnm push`` runs, in this process and event loop, against the loopback sandboxes."""
    mappings = load_mappings(Path(settings.gateway.mappings_dir))
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        pusher = build_pusher(settings, mappings, storage, stack, workers=workers, poll=False, observe=observe)
        task = asyncio.create_task(pusher.run(stop))
        try:
            yield pusher
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=HANG_SECONDS)


# -- ctnm as a subprocess -------------------------------------------------------------------------------


def ctnm_command() -> list[str]:
    """The installed console script next to this interpreter (``.venv/bin/ctnm``), else ``python -m app``."""
    script = Path(sys.executable).with_name("ctnm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


class PushProcess:
    """``ctnm push --workers N`` in its own process group, its output appended to ``log``."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 2) -> None:
        self.env = dict(env)
        """What the next ``start`` runs with (a test may change it first)."""
        self._log_path = log
        self._workers = workers
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    def start(self) -> None:
        assert self._process is None, "already running"
        with self._log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self._process = subprocess.Popen(
                [*ctnm_command(), "push", "--workers", str(self._workers)],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed, leases stay taken until they run out."""
        process = self._require()
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=10)
        self._process = None
        self.kills += 1

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait (in-flight batches finish); SIGKILL if it does not stop in time."""
        process = self._require()
        _signal_group(process, signal.SIGTERM)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            code = process.wait(timeout=10)
        self._process = None
        return code

    def close(self) -> None:
        """Whatever state it is in: gone afterwards (fixture teardown)."""
        if self._process is not None:
            if self._process.poll() is None:
                _signal_group(self._process, signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def log_lines(self) -> list[JsonObject]:
        """The JSON log lines written so far (lines cut by a SIGKILL are skipped)."""
        lines: list[JsonObject] = []
        if not self._log_path.exists():
            return lines
        for raw in self._log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                lines.append(entry)
        return lines

    def _require(self) -> subprocess.Popen[bytes]:
        assert self._process is not None, "not running"
        return self._process


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def run_ctnm(env: dict[str, str], *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """One ``ctnm`` command to its end (``dlq list``, ``dlq replay``)."""
    return subprocess.run(
        [*ctnm_command(), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# -- the novomind sandbox, through its control routes (thread-safe: they run on the server's loop) ----


class NovomindSim:
    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.AsyncClient(base_url=url, timeout=30)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def reset(self) -> None:
        (await self._http.post("/__sim/reset")).raise_for_status()

    async def seed_tickets(self, ids: Iterable[int]) -> None:
        body = [{"id": ticket, "contact": {"id": ticket}} for ticket in ids]
        if body:
            (await self._http.post("/__sim/tickets", json=body)).raise_for_status()

    async def inject(self, **fault: Any) -> None:
        (await self._http.post("/__sim/faults", json=fault)).raise_for_status()

    async def clear_faults(self) -> None:
        (await self._http.delete("/__sim/faults")).raise_for_status()

    async def ledger(self) -> Ledger:
        effects = (await self._http.get("/__sim/effects")).json()
        requests = (await self._http.get("/__sim/requests")).json()
        memos = (await self._http.get("/__sim/memos")).json()
        tickets = {t["id"]: t for t in (await self._http.get("/__sim/tickets")).json()}
        return Ledger(effects=effects, requests=requests, memos=memos, tickets=tickets)


# -- the verdict -----------------------------------------------------------------------------------------


def storage_key(message_id: str, ticket: int) -> str:
    """The worker's idempotency key for a message's storage merge on ``ticket`` (app.push.effects)."""
    return effect_key(message_id, f"PUT {STORAGE_PATH.format(ticket)}", "storage")


def memo_key(message_id: str, process: int) -> str:
    return effect_key(message_id, f"POST {MEMO_PATH.format(process)}", "memo")


def _header(request: JsonObject, name: str) -> str | None:
    return next((value for key, value in request["headers"] if key.lower() == name), None)


@dataclass
class Ledger:
    """What the novomind sandbox saw and did."""

    effects: dict[str, dict[str, int]]
    """``{Idempotency-Key: {requests, applied}}``."""
    requests: list[JsonObject]
    memos: list[JsonObject]
    tickets: dict[int, JsonObject]

    def writes(self) -> list[JsonObject]:
        return [
            r
            for r in self.requests
            if r["method"] in {"PUT", "POST"} and r["path"].startswith(API_ROOT) and not r["path"].endswith("/token")
        ]

    def storage_of(self, ticket: int) -> dict[str, str]:
        storage: dict[str, str] = self.tickets[ticket]["storage"]
        return storage


@dataclass
class Verdict:
    events: int
    applied: list[str] = field(default_factory=list)
    """Messages whose own change was written (storage merge with ``ct.lastEventId`` = the message)."""
    reread: list[str] = field(default_factory=list)
    """Messages whose gap made the worker write the re-read order (``ct.lastEvent`` = ``orderSnapshot``)."""
    covered: list[str] = field(default_factory=list)
    """Not written themselves, but their order was re-read during the stream (after all its changes were
    made, so the re-read wrote a version that includes them): correctly dropped as stale."""
    lost: list[str] = field(default_factory=list)
    """Neither written, nor covered by a re-read."""
    duplicated: int = 0
    """Memos novomind holds twice (one message or one re-read version, by the memo's reference and by
    its key), memos beyond the memo keys of their process, and keyless writes. The novomind sandbox of
    the proofs ignores idempotency keys, as iAGENT does: nothing is deduplicated for the pusher."""
    regressions: list[str] = field(default_factory=list)
    """Storage writes, in the order novomind received them per ticket, of an order version older than
    one written to that ticket before: a ticket going back."""
    resent: int = 0
    """Storage writes (idempotent by nature) applied again under their key: harmless re-sends."""
    memo_problems: list[str] = field(default_factory=list)
    """Messages written in order whose memo was not applied exactly once (and no re-read covers them)."""
    state_mismatches: list[str] = field(default_factory=list)
    resent_absorbed: int = 0
    """Keys novomind received more than once and applied once (a re-send the key absorbed)."""
    extra_requests: int = 0

    def summary(self) -> JsonObject:
        return {
            "events": self.events,
            "applied": len(self.applied),
            "reread": len(self.reread),
            "covered": len(self.covered),
            "lost": len(self.lost),
            "duplicated": self.duplicated,
            "regressions": len(self.regressions),
            "resent": self.resent,
            "memoProblems": len(self.memo_problems),
            "stateMismatches": len(self.state_mismatches),
            "resentAbsorbed": self.resent_absorbed,
            "extraRequests": self.extra_requests,
        }


def judge(streams: Sequence[OrderStream], ledger: Ledger, latest: dict[str, JsonObject]) -> Verdict:
    """One outcome per stream message from novomind's side, plus the final state of every ticket.

    ``latest``: the commercetools order documents after all changes (order id -> order). All of a
    stream's changes are made before the workers see its messages, so a re-read during the stream reads
    a version that includes every message of the order. A message whose storage merge went through but
    whose memo did not (the worker died in between, and a later message's gap then re-read the order)
    counts as covered when such a re-read was written, else as lost.
    """
    verdict = Verdict(events=sum(len(s.messages) for s in streams))
    written: dict[str, tuple[str, JsonObject]] = {}  # key -> (path, body) of a complete request
    keyless = 0
    for request in ledger.writes():
        key = _header(request, "idempotency-key")
        if key is None:
            keyless += 1
            continue
        if key not in written:
            try:
                # A worker killed mid-request leaves a recorded request with a cut body: take another copy.
                written[key] = (request["path"], json.loads(request["body"]))
            except ValueError:
                continue
    applied_ids: set[str] = set()
    reread_ids: set[str] = set()
    memo_keys_per_process: Counter[int] = Counter()
    for key, counts in ledger.effects.items():
        if counts["requests"] > 1 and counts["applied"] == 1:
            verdict.resent_absorbed += 1
        verdict.extra_requests += max(0, counts["requests"] - 1)
        if counts["applied"] < 1:
            continue
        assert key in written, f"applied key {key} has no complete request on record"
        path, body = written[key]
        if path.endswith("/memos"):
            verdict.duplicated += counts["applied"] - 1
            memo_keys_per_process[int(path.split("/")[-2])] += 1
        elif path.endswith("/storage"):
            verdict.resent += counts["applied"] - 1
            (reread_ids if body.get("ct.lastEvent") == "orderSnapshot" else applied_ids).add(body["ct.lastEventId"])
    # A memo novomind holds beyond the keys that created memos on its process is a duplicate.
    memos_per_process = Counter(memo["processId"] for memo in ledger.memos)
    verdict.duplicated += keyless + sum(
        max(0, count - memo_keys_per_process[process]) for process, count in memos_per_process.items()
    )
    # Every memo names its write (externalReference): two with one reference are one write twice.
    by_reference = Counter(memo.get("externalReference") for memo in ledger.memos)
    assert sum(count - 1 for count in by_reference.values()) <= verdict.duplicated, "counted by key as well"
    verdict.regressions = regressions(ledger)

    for stream in streams:
        rereads = {m["id"] for m in stream.messages if m["id"] in reread_ids}
        for message in stream.messages:
            mid = message["id"]
            if mid in reread_ids:
                verdict.reread.append(mid)
                continue
            if mid in applied_ids:
                memo = ledger.effects.get(memo_key(mid, stream.ticket_id), {"applied": 0})["applied"]
                if memo == 1:
                    verdict.applied.append(mid)
                    continue
                if memo > 1 or not rereads:
                    verdict.memo_problems.append(f"{stream.order_id}/{mid}: memo applied {memo}x")
                if memo > 1:
                    verdict.applied.append(mid)
                    continue
            (verdict.covered if rereads else verdict.lost).append(mid)
        storage = ledger.storage_of(stream.ticket_id)
        order = latest[stream.order_id]
        wrong = [
            f"{ticket_field}={storage.get(ticket_field)!r} but the order has {order.get(ct_field)!r}"
            for ct_field, ticket_field in STATE_FIELDS
            if storage.get(ticket_field) != order.get(ct_field)
        ]
        if stream.messages and storage.get("ct.lastEventId") not in {stream.last["id"], *rereads}:
            wrong.append("ct.lastEventId is neither the last message nor a re-read of the stream")
        if wrong:
            verdict.state_mismatches.append(f"{stream.order_id} (ticket {stream.ticket_id}): {'; '.join(wrong)}")
    return verdict


def regressions(ledger: Ledger) -> list[str]:
    """Per ticket, every storage write older (``ct.orderVersion``) than one novomind received before it."""
    newest: dict[str, int] = {}
    found: list[str] = []
    for request in ledger.writes():
        if request["method"] != "PUT" or not request["path"].endswith("/storage"):
            continue
        try:
            body = json.loads(request["body"])
        except ValueError:
            continue  # cut by a SIGKILL mid-request: never applied
        version = int(body.get("ct.orderVersion", 0))
        ticket = request["path"].split("/")[-2]
        if version < newest.get(ticket, 0):
            found.append(f"ticket {ticket}: version {version} written after {newest[ticket]}")
        newest[ticket] = max(version, newest.get(ticket, 0))
    return found


def latest_orders(dataset: Dataset, streams: Sequence[OrderStream]) -> dict[str, JsonObject]:
    """The orders as commercetools holds them now (read once the pusher is idle)."""
    return {s.order_id: json.loads(json.dumps(dataset.orders[s.order_id])) for s in streams}


def report(name: str, backend: Backend, **figures: Any) -> str:
    """One greppable line per proof (``pytest -s`` or ``-rP`` shows it)."""
    line = "PUSH-PROOF " + json.dumps({"proof": name, "backend": backend.name, **figures}, sort_keys=False)
    print(line)
    return line
