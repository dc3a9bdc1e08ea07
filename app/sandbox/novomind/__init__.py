"""A built-in fake of novomind iAGENT's REST API, for `ctnm demo` and for tests.

It copies what novomind documents publicly (OAuth2 password grant at `/iMail/api/rest/token`, bearer
tokens, `Accept` media-type versioning, the vendor `Content-Type`, JSON error bodies, the
`categories` resource) and adds clearly labelled simulator-only resources where no public endpoint
exists (ticket read, ticket storage read and merge, process memos and their list), as
`docs/outside-systems.md` describes. Every answered JSON object carries one randomly named extra
field, so strict parsers fail here rather than against a newer iAGENT. It can inject faults and records every
request (without credentials). It imports nothing from the rest of `app`: it stands in for an external
system and must not share the gateway's assumptions.
"""

from app.sandbox.novomind.app import create_novomind_sandbox
from app.sandbox.novomind.config import (
    DEFAULT_CATEGORIES,
    DEFAULT_TICKETS,
    TICKET_STATES,
    NovomindSandboxConfig,
    SeedCategory,
    SeedContact,
    SeedTicket,
    TicketState,
)
from app.sandbox.novomind.faults import Fault, FaultInjector, NovomindConnectionDroppedError
from app.sandbox.novomind.state import Memo, NovomindSandboxState, RecordedRequest, Ticket

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_TICKETS",
    "TICKET_STATES",
    "Fault",
    "FaultInjector",
    "Memo",
    "NovomindConnectionDroppedError",
    "NovomindSandboxConfig",
    "NovomindSandboxState",
    "RecordedRequest",
    "SeedCategory",
    "SeedContact",
    "SeedTicket",
    "Ticket",
    "TicketState",
    "create_novomind_sandbox",
]
