"""What one running sandbox knows: its data, its tokens, the faults waiting, the requests it saw."""

from collections.abc import Callable
from datetime import datetime

import msgspec

from app.sandbox.commercetools.auth import TokenStore
from app.sandbox.commercetools.config import SandboxConfig
from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.faults import FaultInjector
from app.sandbox.commercetools.messages import MessageClock


class RecordedRequest(msgspec.Struct, frozen=True, rename="camel"):
    """One request as the sandbox received it. Never holds credentials: only whether some were sent."""

    method: str
    path: str
    query: list[tuple[str, str]]
    correlation_id: str
    authorization_present: bool
    traceparent: str | None = None


class SandboxState:
    """Reachable as `app.state.sandbox`; tests steer the sandbox through it or through `/__sandbox/…`."""

    def __init__(self, config: SandboxConfig, dataset: Dataset, *, now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.dataset = dataset
        # Timestamps of simulated messages; strictly increasing for the sandbox's lifetime, resets included.
        self.message_clock = MessageClock(now)
        self.faults = FaultInjector()
        self.requests: list[RecordedRequest] = []
        self.tokens = TokenStore(config, (store["key"] for store in dataset.stores.values()))

    def expire_all_tokens(self) -> None:
        """Tokens issued so far now answer 401 `invalid_token`; new ones can be fetched as usual."""
        self.tokens.expire_all()

    def reset(self) -> None:
        """Forget faults, recorded requests and simulated changes: the data is the seeded data again.

        Tokens stay valid.
        """
        self.faults.clear()
        self.requests.clear()
        self.dataset.restore()
