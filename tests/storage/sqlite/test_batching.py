"""Writes of one loop turn marked ``together`` share one transaction (app/storage/sqlite/engine.py), each
keeping its own outcome: what the push worker's history entry, completion and next gate call rely on."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.errors import StorageUnavailableError
from app.storage.sqlite.engine import Database
from app.storage.sqlite_backend import SqliteStorage


async def test_one_turns_writes_run_as_one_lane_call_with_their_own_answers(tmp_path: Path) -> None:
    storage = await SqliteStorage.open(tmp_path / "gateway.sqlite3")
    try:
        keys = storage.idempotency
        await keys.reserve("k1", owner="w1", lease_seconds=60, ttl_seconds=60)
        db: Database = keys._db  # type: ignore[attr-defined]
        lane = db._writer
        calls: list[str] = []
        original = lane.run

        async def counted(op: str, work: Any, **kw: Any) -> Any:
            calls.append(op)
            return await original(op, work, **kw)

        lane.run = counted  # type: ignore[method-assign]
        answers = await asyncio.gather(
            keys.complete("k1", owner="w1", result=b"done"),
            keys.complete("k1", owner="someone-else"),
            keys.reserve("k2", owner="w1", lease_seconds=60, ttl_seconds=60),
        )
        assert answers[0] is True
        assert answers[1] is False
        assert answers[2].state == "acquired"
        assert calls == ["idempotency.complete+idempotency.reserve"], "one transaction for the turn"
        lane.run = original  # type: ignore[method-assign]
        assert (await keys.reserve("k1", owner="w2", lease_seconds=60, ttl_seconds=60)).state == "done"
    finally:
        await storage.aclose()


async def test_a_write_that_fails_is_rolled_back_alone(tmp_path: Path) -> None:
    storage = await SqliteStorage.open(tmp_path / "gateway.sqlite3")
    try:
        db: Database = storage.idempotency._db  # type: ignore[attr-defined]

        def good(name: str) -> Any:
            return lambda conn: (
                conn.execute("INSERT INTO cursors (name, value, updated_at_ms) VALUES (?, 'v', 0)", (name,)).rowcount
            )

        def half_then_broken(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO cursors (name, value, updated_at_ms) VALUES ('half', 'v', 0)")
            conn.execute("INSERT INTO no_such_table VALUES (1)")
            return 1

        def raises(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO cursors (name, value, updated_at_ms) VALUES ('raised', 'v', 0)")
            raise ValueError("a bug in a body")

        results = await asyncio.gather(
            db.write("a", good("a"), together=True),
            db.write("broken", half_then_broken, together=True),
            db.write("raises", raises, together=True),
            db.write("b", good("b"), together=True),
            return_exceptions=True,
        )

        assert results[0] == 1
        assert results[3] == 1
        assert isinstance(results[1], StorageUnavailableError)
        assert "sqlite broken failed" in str(results[1])
        assert isinstance(results[2], ValueError)
        names = {row[0] for row in await db.read("t", lambda c: c.execute("SELECT name FROM cursors").fetchall())}
        assert names == {"a", "b"}, "the failed writes left nothing behind, the others committed"
    finally:
        await storage.aclose()


async def test_a_closed_store_fails_every_write_of_the_batch(tmp_path: Path) -> None:
    storage = await SqliteStorage.open(tmp_path / "gateway.sqlite3")
    keys = storage.idempotency
    await storage.aclose()
    with pytest.raises(StorageUnavailableError):
        await asyncio.gather(
            keys.complete("k", owner="w"), keys.reserve("k2", owner="w", lease_seconds=1, ttl_seconds=1)
        )
