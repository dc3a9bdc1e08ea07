"""The SQLite schema as ordered, numbered migrations, and the code that applies them.

Each migration runs once, in its own ``BEGIN IMMEDIATE`` transaction together with its row in
``schema_migrations``, so several processes opening one file at the same time apply it exactly
once, and a crash leaves the file at a whole version. Never edit a released migration; append.

Conventions: times are integer milliseconds since the Unix epoch, UTC (``*_ms``), which sort and
compare as numbers. Tables whose ids are shown to callers use ``AUTOINCREMENT`` so an id is never
reused: a stale queue entry id can never ack a newer entry, and a replayed dead letter's id can
never come back as another one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final

import msgspec

from app.errors import FatalError
from app.storage.sqlite.engine import transaction

__all__ = ["MIGRATIONS", "Migration", "SchemaTooNewError", "migrate", "schema_version"]


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "links, event queue, dead letters, idempotency keys, cursors, audit log",
        (
            """
            CREATE TABLE links (
                kind TEXT NOT NULL,
                reference TEXT NOT NULL,
                order_id TEXT,
                order_number TEXT,
                customer_id TEXT,
                process_id TEXT,
                store TEXT,
                linked_by TEXT NOT NULL,
                linked_at_ms INTEGER NOT NULL,
                version INTEGER NOT NULL,
                PRIMARY KEY (kind, reference)
            ) WITHOUT ROWID
            """,
            # Partial: most links name only one of the two, and NULLs are never looked up.
            "CREATE INDEX links_by_order ON links (order_id, kind, reference) WHERE order_id IS NOT NULL",
            "CREATE INDEX links_by_customer ON links (customer_id, kind, reference) WHERE customer_id IS NOT NULL",
            # state: 'new' (never delivered), 'retry' (released; due at visible_at_ms) or 'leased'
            # (delivered; the lease ends at visible_at_ms).
            """
            CREATE TABLE queue_entries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                message_id TEXT NOT NULL,
                key TEXT NOT NULL,
                payload BLOB NOT NULL,
                enqueued_at_ms INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('new', 'retry', 'leased')),
                visible_at_ms INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                consumer TEXT,
                last_reason TEXT
            )
            """,
            "CREATE INDEX queue_by_state_id ON queue_entries (state, id)",
            "CREATE INDEX queue_by_state_visible ON queue_entries (state, visible_at_ms)",
            """
            CREATE TABLE queue_dedupe (
                message_id TEXT PRIMARY KEY,
                first_seen_ms INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            "CREATE INDEX queue_dedupe_by_age ON queue_dedupe (first_seen_ms)",
            """
            CREATE TABLE dead_letters (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                message_id TEXT NOT NULL,
                key TEXT NOT NULL,
                payload BLOB NOT NULL,
                attempts INTEGER NOT NULL,
                reason TEXT NOT NULL,
                enqueued_at_ms INTEGER NOT NULL,
                dead_at_ms INTEGER NOT NULL
            )
            """,
            # expires_at_ms: end of the lease while 'leased', when the key is forgotten once 'done'.
            """
            CREATE TABLE idempotency_keys (
                key TEXT PRIMARY KEY,
                state TEXT NOT NULL CHECK (state IN ('leased', 'done')),
                owner TEXT NOT NULL,
                expires_at_ms INTEGER NOT NULL,
                ttl_ms INTEGER NOT NULL,
                result BLOB
            ) WITHOUT ROWID
            """,
            "CREATE INDEX idempotency_by_expiry ON idempotency_keys (expires_at_ms)",
            """
            CREATE TABLE cursors (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at_ms INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE audit_log (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at_ms INTEGER NOT NULL,
                subject TEXT NOT NULL,
                action TEXT NOT NULL,
                resource_type TEXT NOT NULL,
                resource_id TEXT NOT NULL,
                fields TEXT NOT NULL,
                correlation_id TEXT
            )
            """,
            "CREATE INDEX audit_by_subject ON audit_log (subject, seq)",
            "CREATE INDEX audit_by_resource ON audit_log (resource_type, resource_id, seq)",
        ),
    ),
    Migration(
        2,
        "sequence gates: a resource's lock and high-water mark in one row",
        (
            # until_ms: end of the current entry's lease, 0 when open. ticket: the latest entry's
            # fencing token, only ever raised.
            """
            CREATE TABLE gates (
                resource TEXT PRIMARY KEY,
                ticket INTEGER NOT NULL,
                until_ms INTEGER NOT NULL,
                mark TEXT
            ) WITHOUT ROWID
            """,
            # The pusher kept each resource's mark as cursor 'seq:<resource>' before: carry it over.
            "INSERT INTO gates (resource, ticket, until_ms, mark)"
            " SELECT substr(name, 5), 0, 0, value FROM cursors WHERE name LIKE 'seq:%'",
            "DELETE FROM cursors WHERE name LIKE 'seq:%'",
        ),
    ),
    Migration(
        3,
        "push history: the pusher's settled writes per ticket",
        (
            # record: the PushRecord as JSON (read whole, never queried by its fields).
            """
            CREATE TABLE push_history (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                ticket_id TEXT NOT NULL,
                key TEXT NOT NULL,
                record BLOB NOT NULL,
                UNIQUE (ticket_id, key)
            )
            """,
            "CREATE INDEX push_history_by_ticket ON push_history (ticket_id, seq)",
        ),
    ),
)

_CREATE_MIGRATIONS = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at_ms INTEGER NOT NULL
    )
"""


class SchemaTooNewError(FatalError):
    """The file was written by a newer gateway: refusing beats misreading (or downgrading) it."""

    code = "storage_schema_too_new"

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            f"{path}: database schema version {found} is newer than this gateway knows ({known}); "
            "run the newer gateway version or point GATEWAY_DATA_DIR at another directory"
        )
        self.path = path
        self.found = found
        self.known = known


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration, 0 for a file without any."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchall()
    if not exists:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
    return int(row[0][0])


def migrate(
    conn: sqlite3.Connection,
    path: Path,
    now_ms: Callable[[], int],
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> int:
    """Bring the file to the newest version; returns it. Already current: reads only, no lock."""
    known = migrations[-1].version if migrations else 0
    current = schema_version(conn)
    if current > known:
        raise SchemaTooNewError(path, current, known)
    while current < known:
        current = transaction(conn, lambda c: _apply_next(c, path, now_ms, migrations))
    return current


def _apply_next(
    conn: sqlite3.Connection, path: Path, now_ms: Callable[[], int], migrations: tuple[Migration, ...]
) -> int:
    conn.execute(_CREATE_MIGRATIONS)
    # Re-read under the write lock: another process may have migrated meanwhile.
    current = schema_version(conn)
    known = migrations[-1].version
    if current > known:
        raise SchemaTooNewError(path, current, known)
    pending = next((m for m in migrations if m.version > current), None)
    if pending is None:
        return current
    for statement in pending.statements:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
        (pending.version, pending.name, now_ms()),
    )
    return pending.version
