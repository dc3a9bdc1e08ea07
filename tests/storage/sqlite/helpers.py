"""Shared by the SQLite backend tests: a settable clock, link builders, raw connections."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.storage.ports import Link

START = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


class FakeClock:
    """``clock`` for ``SqliteStorage.open``: time moves only when a test says so."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def link(reference: str, *, kind: str = "ticket", **fields: Any) -> Link:
    return Link(kind=kind, reference=reference, linked_by=fields.pop("linked_by", "agent-1"), linked_at=START, **fields)


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain autocommit connection on the file, closed on exit (another process, in effect)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn
