"""Settings of one sandbox instance."""

import msgspec


class SandboxConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How one commercetools sandbox behaves.

    The defaults match what `ctnm demo` wires into the gateway, so a demo needs no configuration.
    """

    project_key: str = "demo"
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"  # noqa: S105 - a well-known fake credential for the fake API
    # commercetools' own default access-token lifetime (48 h).
    token_ttl_seconds: int = 172800
    seed: int = 20261127
    # Added to every non-control response, to make timeouts and deadline budgets testable.
    latency_ms: int = 0
