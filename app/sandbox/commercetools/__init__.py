"""A built-in fake of the commercetools HTTP API, for `ctnm demo` and for tests.

It speaks the subset of commercetools the gateway and the status pusher use (OAuth client credentials,
orders, customers, payments and reference data, project-wide and in-store, and the Messages API), with
real scope checks, the query-predicate language, paging, sorting and expansion, seeded with a
deterministic multi-store data set (`seed`); it can inject latency and faults (`faults`), and change
orders and payments on request, storing the messages commercetools would emit (`messages`). It
imports nothing from the rest of `app`: it stands in for an external system and must not share the
gateway's assumptions.
"""

from app.sandbox.commercetools.app import create_commercetools_sandbox
from app.sandbox.commercetools.config import SandboxConfig
from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.faults import Fault, FaultInjector, SandboxConnectionDroppedError
from app.sandbox.commercetools.state import RecordedRequest, SandboxState

__all__ = [
    "Dataset",
    "Fault",
    "FaultInjector",
    "RecordedRequest",
    "SandboxConfig",
    "SandboxConnectionDroppedError",
    "SandboxState",
    "create_commercetools_sandbox",
]
