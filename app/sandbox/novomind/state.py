"""What one running novomind sandbox knows: tickets, memos, tokens, faults and the requests it saw.

Reachable as `app.state.novomind`. Tests steer it directly (`seed_ticket`, `faults.inject`,
`expire_all_tokens`, `reset`) or over HTTP through the `/__sim/…` control routes.
"""

import secrets
import time
from collections.abc import Callable
from typing import Any

import msgspec

from app.sandbox.novomind.config import DEFAULT_TICKETS, NovomindSandboxConfig, SeedCategory, SeedTicket
from app.sandbox.novomind.faults import FaultInjector
from app.sandbox.novomind.wire import ExtraFields, timestamp

REDACTED = "[redacted]"


class RecordedRequest(msgspec.Struct, frozen=True):
    """One request as the sandbox received it.

    `headers` keep every header but the `Authorization` value, which is replaced by `[redacted]`; the
    token endpoint's `password` and `client_secret` form values are redacted in `body` the same way.
    """

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class Ticket(msgspec.Struct):
    """A seeded ticket as the simulator-only `GET /tickets/{id}` shows it (storage mutable)."""

    id: int
    process_id: int
    ticket_state: str
    category_id: int
    tenant_id: int
    contact: dict[str, Any]
    storage: dict[str, str]
    created: str
    subject: str | None = None
    """Shown on the simulator's desk page only (``GET /__sim/desk/{id}``), not in the ticket's API view."""

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "processId": self.process_id,
            "ticketState": self.ticket_state,
            "categoryId": self.category_id,
            "tenantId": self.tenant_id,
            "contact": dict(self.contact),
            "storage": dict(self.storage),
            "created": self.created,
        }


class Memo(msgspec.Struct, frozen=True):
    """An internal comment on a process (simulator-only API; the feature itself is in the manual).

    `external_reference`: a caller's own reference for the memo (simulator-only field), so that the
    caller can find out later, by listing the process's memos, whether its write arrived."""

    id: int
    process_id: int
    text: str
    created: str
    external_reference: str | None = None

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {"id": self.id, "processId": self.process_id, "text": self.text, "created": self.created}
        if self.external_reference is not None:
            view["externalReference"] = self.external_reference
        return view


class StoredAnswer(msgspec.Struct, frozen=True):
    """The first successful answer to an idempotent write, replayed for repeats of its key."""

    status: int
    body: Any


class IdempotencyLedger:
    """Simulator-only: what each `Idempotency-Key` asked for and what it changed.

    An answer is stored per (key, method, path), so one key may be used for a storage merge and a
    memo alike; `requests` counts every request that arrived with the key (repeats, and requests
    answered with a fault or a 401, included), `applied` the writes the key actually made. Only a
    successful write is stored: a request that failed changed nothing and may be repeated.
    """

    def __init__(self) -> None:
        self._requests: dict[str, int] = {}
        self._answers: dict[tuple[str, str, str], StoredAnswer] = {}
        self._applied: dict[str, int] = {}

    def received(self, key: str) -> None:
        self._requests[key] = self._requests.get(key, 0) + 1

    def answer(self, key: str, method: str, path: str) -> StoredAnswer | None:
        return self._answers.get((key, method.upper(), path))

    def applied(self, key: str, method: str, path: str, answer: StoredAnswer) -> None:
        self._answers.setdefault((key, method.upper(), path), answer)
        self._applied[key] = self._applied.get(key, 0) + 1

    def effects(self) -> dict[str, dict[str, int]]:
        """`{key: {"requests": n, "applied": m}}` for every key seen, in the order first seen.

        `applied` counts every write the key made: at most one per method and path while the sandbox
        deduplicates, every repeat when it does not (`NovomindSandboxConfig.deduplicate`)."""
        applied = self._applied
        keys = list(self._requests) + [key for key in applied if key not in self._requests]
        return {key: {"requests": self._requests.get(key, 0), "applied": applied.get(key, 0)} for key in keys}

    def clear(self) -> None:
        self._requests.clear()
        self._answers.clear()
        self._applied.clear()


class TokenStore:
    """Opaque bearer tokens with a lifetime; `expire_all` ends every token issued so far."""

    def __init__(self, ttl_seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        self._expiry[token] = self.clock() + self.ttl_seconds
        return token

    def valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and self.clock() < expiry

    def expire_all(self) -> None:
        now = self.clock()
        self._expiry = dict.fromkeys(self._expiry, now)

    def clear(self) -> None:
        self._expiry.clear()


def _ticket(seed: SeedTicket) -> Ticket:
    contact = {"id": seed.contact.id, "externalId": seed.contact.external_id, "email": seed.contact.email}
    return Ticket(
        id=seed.id,
        process_id=seed.process_id or seed.id,
        ticket_state=seed.ticket_state,
        category_id=seed.category_id,
        tenant_id=seed.tenant_id,
        contact=contact,
        storage=dict(seed.storage),
        created=seed.created,
        subject=seed.subject,
    )


class NovomindSandboxState:
    """The sandbox's memory. Nothing persists beyond the process."""

    FIRST_MEMO_ID = 500001

    def __init__(self, config: NovomindSandboxConfig) -> None:
        self.config = config
        self.faults = FaultInjector()
        self.requests: list[RecordedRequest] = []
        self.tokens = TokenStore(config.token_ttl_seconds)
        self.extra_fields = ExtraFields(config.seed, config.extra_field)
        self.categories: dict[int, SeedCategory] = {category.id: category for category in config.categories}
        self.tickets: dict[int, Ticket] = {}
        self.memos: list[Memo] = []
        # Contacts by External ID (the gateway's profile sync uses the commercetools customer id).
        self.contacts: dict[str, dict[str, Any]] = {}
        self.idempotency = IdempotencyLedger()
        self._seed_data()

    def _seed_data(self) -> None:
        self.tickets.clear()
        self.memos.clear()
        self.contacts.clear()
        for seed in DEFAULT_TICKETS if self.config.tickets is None else self.config.tickets:
            self.seed_ticket(seed)

    def seed_ticket(self, ticket: SeedTicket) -> Ticket:
        """Add (or replace) a ticket; returns the stored ticket."""
        stored = _ticket(ticket)
        self.tickets[stored.id] = stored
        return stored

    def process_exists(self, process_id: int) -> bool:
        # A process id is usually its first ticket's id: look there before scanning every ticket.
        ticket = self.tickets.get(process_id)
        if ticket is not None and ticket.process_id == process_id:
            return True
        return any(ticket.process_id == process_id for ticket in self.tickets.values())

    def add_memo(self, process_id: int, text: str, external_reference: str | None = None) -> Memo:
        memo = Memo(
            id=self.FIRST_MEMO_ID + len(self.memos),
            process_id=process_id,
            text=text,
            created=timestamp(),
            external_reference=external_reference,
        )
        self.memos.append(memo)
        return memo

    def merge_contact(self, external_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        """JSON merge patch (RFC 7396) of the contact with this External ID, created on first write."""
        contact = self.contacts.setdefault(external_id, {"externalId": external_id})
        _merge(contact, patch)
        contact["externalId"] = external_id
        copy: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(contact))
        return copy

    def memos_of(self, process_id: int) -> list[Memo]:
        return [memo for memo in self.memos if memo.process_id == process_id]

    def expire_all_tokens(self) -> None:
        """Tokens issued so far now answer 401; new ones can be fetched as usual."""
        self.tokens.expire_all()

    def reset(self) -> None:
        """Back to the configured data (seed tickets, no memos); no faults, recorded requests or idempotency keys.

        Issued tokens stay valid, as in the commercetools sandbox: a gateway under test keeps its token.
        """
        self.faults.clear()
        self.requests.clear()
        self.idempotency.clear()
        self.extra_fields.reset()
        self._seed_data()


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif isinstance(value, dict):
            target[key] = {}
            _merge(target[key], value)
        else:
            target[key] = value
