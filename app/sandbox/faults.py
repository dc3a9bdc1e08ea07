"""Fault injection shared by the built-in sandboxes: which requests fail, how often, in what order.

A `Fault` is armed for `times` matching requests and then spent. Matching faults are used in the order
they were injected, one fault per request. What a fault does to a response is each sandbox's own
business (its error body, its media types): see `app.sandbox.commercetools.faults` and
`app.sandbox.novomind.faults`.
"""

from typing import Literal

import msgspec


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One injected failure. On the wire (the sandboxes' fault routes) the fields are camelCase."""

    path_contains: str = ""
    method: str = "*"
    status: int | None = None
    times: int = 1
    retry_after: str | None = None
    delay_ms: int = 0
    body: Literal["error", "junk", "truncated"] = "error"
    drop_connection: bool = False

    def __post_init__(self) -> None:
        # msgspec turns these into validation errors when a Fault arrives as JSON.
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.delay_ms < 0:
            raise ValueError("delayMs must not be negative")

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and self.path_contains in path


class ArmedFault(msgspec.Struct, rename="camel"):
    fault: Fault
    remaining: int


class FaultInjector:
    """The faults waiting for requests."""

    def __init__(self) -> None:
        self._armed: list[ArmedFault] = []

    def inject(self, fault: Fault) -> None:
        self._armed.append(ArmedFault(fault, fault.times))

    def clear(self) -> None:
        self._armed.clear()

    @property
    def armed(self) -> list[ArmedFault]:
        return list(self._armed)

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, counting it as used once."""
        for armed in self._armed:
            if armed.fault.matches(method, path):
                armed.remaining -= 1
                if armed.remaining <= 0:
                    self._armed.remove(armed)
                return armed.fault
        return None
