"""The storage clock a contract test drives, and what it can and cannot drive on each backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

START = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)


class StoreClock:
    """The ``clock`` passed to a store's ``open``: it moves only when the test says so.

    It stamps enqueue and dead-letter times and drives release delays and the dedupe window on every
    backend. Leases follow it on SQLite only: Redis ends a lease on its own server clock (``TIME``), so
    no client clock can skew a takeover, and there a test waits for real time to pass the lease's end.
    Nothing a test asserts depends on the machine being fast: a slow one only waits longer.
    """

    def __init__(self, backend: str, start: datetime = START) -> None:
        self.now = start
        self.drives_leases = backend == "sqlite"

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def outlive(self, lease_seconds: float) -> None:
        """Let every lease of ``lease_seconds`` taken so far run out."""
        self.advance(lease_seconds * 2)
        if not self.drives_leases:
            # Redis server time must pass the lease's end; elapsed real time is the only way there.
            await asyncio.sleep(lease_seconds * 1.5)
