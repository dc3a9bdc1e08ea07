"""Lease timings and hypothesis settings shared by the lease-based contract suites (gates, idempotency keys)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

LEASE = 0.2
"""A short lease, in seconds."""
PAST_LEASE = 0.3
"""Long enough for a ``LEASE`` to have run out, on the server's clock as on ours."""
LONG = 60.0
"""A lease that does not run out during a test."""

PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
