"""What one running sandbox knows: its data, its tokens, the faults waiting, the requests it saw."""

import msgspec

from app.sandbox.commercetools.auth import TokenStore
from app.sandbox.commercetools.config import SandboxConfig
from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.faults import FaultInjector


class RecordedRequest(msgspec.Struct, frozen=True, rename="camel"):
    """One request as the sandbox received it. Never holds credentials: only whether some were sent."""

    method: str
    path: str
    query: list[tuple[str, str]]
    correlation_id: str
    authorization_present: bool


class SandboxState:
    """Reachable as `app.state.sandbox`; tests steer the sandbox through it or through `/__sandbox/…`."""

    def __init__(self, config: SandboxConfig, dataset: Dataset) -> None:
        self.config = config
        self.dataset = dataset
        self.faults = FaultInjector()
        self.requests: list[RecordedRequest] = []
        self.tokens = TokenStore(config, (store["key"] for store in dataset.stores.values()))

    def expire_all_tokens(self) -> None:
        """Tokens issued so far now answer 401 `invalid_token`; new ones can be fetched as usual."""
        self.tokens.expire_all()

    def reset(self) -> None:
        """Forget faults and recorded requests (tokens and data stay)."""
        self.faults.clear()
        self.requests.clear()
