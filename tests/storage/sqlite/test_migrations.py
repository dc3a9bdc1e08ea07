"""Migrations: a fresh file, an idempotent re-open, a newer schema refused, one migration at a time."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from app.errors import StorageUnavailableError
from app.storage.sqlite.schema import MIGRATIONS, Migration, migrate, schema_version
from app.storage.sqlite_backend import SchemaTooNewError, SqliteStorage
from tests.storage.sqlite.conftest import Opener
from tests.storage.sqlite.helpers import raw

NEWEST = MIGRATIONS[-1].version
TABLES = {
    "links",
    "queue_entries",
    "queue_dedupe",
    "dead_letters",
    "idempotency_keys",
    "gates",
    "cursors",
    "audit_log",
}


def applied(path: Path) -> list[tuple[int, str, int]]:
    with raw(path) as conn:
        return conn.execute("SELECT version, name, applied_at_ms FROM schema_migrations ORDER BY version").fetchall()


def sqlite_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("sqlite-")]


def test_migrations_are_numbered_one_to_n_in_order() -> None:
    assert [migration.version for migration in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all(migration.name and migration.statements for migration in MIGRATIONS)


async def test_a_fresh_file_gets_its_directory_wal_and_every_migration(opener: Opener, db_path: Path) -> None:
    assert not db_path.parent.exists()

    await opener()

    assert [version for version, _, _ in applied(db_path)] == [migration.version for migration in MIGRATIONS]
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables >= TABLES | {"schema_migrations"}


async def test_reopening_a_current_file_writes_nothing_and_needs_no_write_lock(opener: Opener, db_path: Path) -> None:
    first = await opener()
    await first.aclose()
    before = applied(db_path)

    # Another process holds the write lock: a no-op open must not need it.
    with raw(db_path) as holder:
        holder.execute("BEGIN IMMEDIATE")
        try:
            again = await opener(timeout_seconds=0.3)
            await again.ping()
        finally:
            holder.execute("ROLLBACK")

    assert applied(db_path) == before


async def test_a_file_with_a_newer_schema_is_refused_naming_file_and_versions(opener: Opener, db_path: Path) -> None:
    await (await opener()).aclose()
    with raw(db_path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'from a newer gateway', 0)", (NEWEST + 1,))
    before = applied(db_path)

    with pytest.raises(SchemaTooNewError) as caught:
        await SqliteStorage.open(db_path)

    message = str(caught.value)
    assert str(db_path) in message
    assert f"version {NEWEST + 1}" in message
    assert f"({NEWEST})" in message
    assert (caught.value.found, caught.value.known) == (NEWEST + 1, NEWEST)
    assert applied(db_path) == before
    assert sqlite_threads() == [], "a refused open left its worker threads behind"


async def test_an_unopenable_path_is_unavailable_and_leaves_nothing_behind(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageUnavailableError, match="data directory"):
        await SqliteStorage.open(blocker / "gateway.sqlite3")

    directory = tmp_path / "a-directory"
    directory.mkdir()
    with pytest.raises(StorageUnavailableError, match="SQLITE_CANTOPEN"):
        await SqliteStorage.open(directory)
    assert sqlite_threads() == []


async def test_concurrent_opens_of_a_fresh_file_apply_each_migration_once(db_path: Path, opener: Opener) -> None:
    await asyncio.gather(*(opener() for _ in range(6)))

    assert [version for version, _, _ in applied(db_path)] == [migration.version for migration in MIGRATIONS]


async def test_version_2_carries_the_pushers_marks_from_cursors_into_gates(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:
        migrate(conn, db_path, lambda: 1, MIGRATIONS[:1])
        conn.executemany(
            "INSERT INTO cursors (name, value, updated_at_ms) VALUES (?, ?, 1)",
            [("seq:order:o-1", "3@5"), ("seq:payment:p-1", "2@0"), ("messages:orders", "2026-11-28T00:00:00Z")],
        )
        conn.commit()

    storage = await SqliteStorage.open(db_path)
    try:
        order = await storage.gates.enter("order:o-1", lease_seconds=60)
        payment = await storage.gates.enter("payment:p-1", lease_seconds=60)
        assert (order.state, order.mark, payment.mark) == ("entered", "3@5", "2@0")
        assert await storage.cursors.get("seq:order:o-1") is None
        assert await storage.cursors.get("messages:orders") == "2026-11-28T00:00:00Z"
    finally:
        await storage.aclose()


# -- the migration runner, with made-up migrations -------------------------------------------------

ONE = Migration(1, "first", ("CREATE TABLE one (x INTEGER)",))
TWO = Migration(2, "second", ("CREATE TABLE two (x INTEGER)", "INSERT INTO one VALUES (2)"))
BROKEN = Migration(2, "broken", ("CREATE TABLE two (x INTEGER)", "INSERT INTO no_such_table VALUES (1)"))


def test_only_pending_migrations_run_each_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "runner.sqlite3"
    with raw(path) as conn:
        assert migrate(conn, path, lambda: 1, (ONE,)) == 1
        # Re-running ONE would fail (its table exists): a second call must skip it.
        assert migrate(conn, path, lambda: 2, (ONE,)) == 1
        assert migrate(conn, path, lambda: 3, (ONE, TWO)) == 2
        assert conn.execute("SELECT x FROM one").fetchall() == [(2,)]
    assert applied(path) == [(1, "first", 1), (2, "second", 3)]


def test_a_failing_migration_leaves_the_file_at_the_last_whole_version(tmp_path: Path) -> None:
    path = tmp_path / "runner.sqlite3"
    with raw(path) as conn:
        migrate(conn, path, lambda: 1, (ONE,))
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            migrate(conn, path, lambda: 2, (ONE, BROKEN))
        assert schema_version(conn) == 1
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'two'").fetchall() == []
        assert not conn.in_transaction


def test_the_runner_refuses_a_newer_file(tmp_path: Path) -> None:
    path = tmp_path / "runner.sqlite3"
    with raw(path) as conn:
        migrate(conn, path, lambda: 1, (ONE, TWO))
        with pytest.raises(SchemaTooNewError):
            migrate(conn, path, lambda: 2, (ONE,))
