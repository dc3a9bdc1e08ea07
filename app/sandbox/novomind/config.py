"""Settings of one novomind iAGENT sandbox instance, and the shapes used to seed it."""

from typing import Literal, get_args

import msgspec

TicketState = Literal[
    "CREATED",
    "QUEUED",
    "ASSIGNED",
    "RESUBMITTED",
    "INTERNAL_FORWARDED",
    "EXTERNAL_FORWARDED",
    "EXTERNAL_INQUIRED",
    "CLOSED",
]
"""novomind's `TicketState` names (Java enum, >= 12.0). The public list stops after `EXTERNAL_INQUIRED`;
`CLOSED` is a simulator-only stand-in for the closed states the public docs do not show."""

TICKET_STATES: tuple[str, ...] = get_args(TicketState)


class SeedContact(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A ticket's contact: numeric id, optional External ID (e.g. a commercetools customer id), email."""

    id: int
    email: str | None = None
    external_id: str | None = None


class SeedTicket(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One ticket to seed (`POST /__sim/tickets` takes these, camelCase on the wire).

    `process_id` defaults to the ticket id: in iAGENT the process number is the id of the process's
    first ticket, so a one-ticket process shares its ticket's id.
    """

    id: int
    contact: SeedContact
    process_id: int | None = None
    ticket_state: TicketState = "QUEUED"
    category_id: int = 1
    tenant_id: int = 1
    storage: dict[str, str] = msgspec.field(default_factory=dict)
    created: str = "2026-06-01T08:00:00Z"
    subject: str | None = None
    """Simulator-only: what the desk page (`/__sim/desk/{id}`) shows as the ticket's subject."""

    def __post_init__(self) -> None:
        if self.id < 1 or (self.process_id is not None and self.process_id < 1):
            raise ValueError("ticket and process ids must be positive")


class SeedCategory(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A category with the flags the public `GET /categories` example shows, plus `id` and `name`."""

    id: int
    name: str
    allowed_for_new_processes: bool = True
    allowed_for_phone_tickets: bool = True
    allowed_recategorization_destination: bool = True
    allowed_recategorization_source: bool = True
    answer_allowed: bool = True
    auto_routing_enabled: bool = False
    bundling_enabled: bool = False
    business_hour: str | None = None
    chat_category: bool = False


DEFAULT_CATEGORIES: tuple[SeedCategory, ...] = (
    SeedCategory(id=1, name="Orders"),
    SeedCategory(id=2, name="Returns & Refunds", auto_routing_enabled=True),
    SeedCategory(id=3, name="Payments", bundling_enabled=True),
    SeedCategory(id=4, name="Chat", chat_category=True, allowed_for_phone_tickets=False, answer_allowed=False),
)

# The commercetools sandbox (`app/sandbox/commercetools/seed.py`) stores `novomindTicketId` custom fields
# such as "T-100042" (DEMO_TICKET_ID, order DE-100001, anna.schmidt@example.com) and "T-100077"
# (CANCELLED_TICKET_ID, order DE-100006). novomind ticket ids are numeric (`Long`), so "T-100042" maps
# to ticket 100042 here: the gateway's link configuration owns the "T-" prefix, not novomind.
DEFAULT_TICKETS: tuple[SeedTicket, ...] = (
    SeedTicket(
        id=100042,
        ticket_state="ASSIGNED",
        contact=SeedContact(id=7001, email="anna.schmidt@example.com", external_id="ct-customer-anna"),
        created="2026-05-26T09:12:00Z",
        subject="Wo bleibt meine Bestellung DE-100001?",
    ),
    SeedTicket(
        id=100051,
        category_id=2,
        contact=SeedContact(id=7002, email="jonas.becker@web.example"),
        created="2026-05-27T14:03:11Z",
    ),
    SeedTicket(
        id=100063,
        ticket_state="EXTERNAL_INQUIRED",
        category_id=3,
        contact=SeedContact(id=7003, email="alex.morgan@example.com"),
        created="2026-05-28T17:45:09Z",
    ),
    SeedTicket(
        id=100077,
        ticket_state="CLOSED",
        category_id=2,
        contact=SeedContact(id=7004, email="kim.lee@example.org", external_id="ct-customer-kim"),
        storage={"ct.orderState": "Cancelled"},
        created="2026-05-29T07:30:00Z",
    ),
    # A follow-up in process 100042 (ping-pong mail grouped into the first ticket's process).
    SeedTicket(
        id=100090,
        process_id=100042,
        ticket_state="CREATED",
        contact=SeedContact(id=7001, email="anna.schmidt@example.com", external_id="ct-customer-anna"),
        created="2026-05-31T10:00:00Z",
    ),
)


class NovomindSandboxConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How one novomind sandbox behaves. The defaults need no configuration for a demo or a test.

    `tickets=None` seeds `DEFAULT_TICKETS`; pass `()` for an empty sandbox.
    """

    client_id: str = "sandbox-nm-client"
    client_secret: str = "sandbox-nm-secret"  # noqa: S105 - a well-known fake credential for the fake API
    username: str = "gateway"
    password: str = "sandbox-nm-password"  # noqa: S105 - a well-known fake credential for the fake API
    token_ttl_seconds: int = 3600
    tickets: tuple[SeedTicket, ...] | None = None
    categories: tuple[SeedCategory, ...] = DEFAULT_CATEGORIES
    # Seeds the names of the extra random fields; the same seed gives the same names in the same order.
    seed: int = 20261128
    # One extra, randomly named field per answered JSON object, to catch strict parsers.
    extra_field: bool = True
    # The version answered when `Accept` names none (iAGENT >= 11.0 defaults to v2).
    default_version: int = 2
    # Simulator-only: the request header whose key makes storage merges and memo creation idempotent
    # (iAGENT documents no such header). `None` switches the feature off.
    idempotency_header: str | None = "Idempotency-Key"
    # Simulator-only: `False` makes the sandbox behave like an iAGENT that knows nothing of idempotency
    # keys (its documentation names none): every write is applied, a repeat creates a second memo. The
    # key is still counted in `/__sim/effects`, so a test can see what was re-sent and applied twice.
    deduplicate: bool = True
