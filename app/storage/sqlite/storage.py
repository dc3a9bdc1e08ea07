"""The SQLite bundle: open (directory, connections, migrations), ping, close."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from app.errors import StorageUnavailableError
from app.storage.ports import (
    AuditLog,
    CursorStore,
    EventQueue,
    IdempotencyStore,
    LinkStore,
    PushHistory,
    SequenceGates,
)
from app.storage.sqlite.audit import SqliteAuditLog
from app.storage.sqlite.engine import Database, Lane, to_ms
from app.storage.sqlite.history import SqlitePushHistory
from app.storage.sqlite.keys import SqliteCursorStore, SqliteIdempotencyStore, SqliteSequenceGates
from app.storage.sqlite.links import SqliteLinkStore
from app.storage.sqlite.queue import SqliteEventQueue
from app.storage.sqlite.schema import migrate

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "SqliteStorage"]

DEFAULT_TIMEOUT_SECONDS: Final = 2.0
# Start-up may wait for another process's write lock and a migration may rewrite whole tables:
# better to start late than to crash-loop, so opening gets a longer bound than a request.
_MIGRATION_TIMEOUT_SECONDS: Final = 60.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqliteStorage:
    """Embedded storage: one SQLite file that ``serve`` and ``push`` processes may share."""

    backend: str = "sqlite"

    def __init__(self, path: Path, writer: Lane, reader: Lane, db: Database, dedupe_window_seconds: float) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self.links: LinkStore = SqliteLinkStore(db)
        self.queue: EventQueue = SqliteEventQueue(db, dedupe_window_seconds=dedupe_window_seconds)
        self.idempotency: IdempotencyStore = SqliteIdempotencyStore(db)
        self.gates: SequenceGates = SqliteSequenceGates(db)
        self.cursors: CursorStore = SqliteCursorStore(db)
        self.audit: AuditLog = SqliteAuditLog(db)
        self.history: PushHistory = SqlitePushHistory(db)

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        clock: Callable[[], datetime] = _utc_now,
        dedupe_window_seconds: float = 7 * 86400,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> SqliteStorage:
        """Create the directory, open the file and bring its schema up to date.

        ``timeout_seconds`` bounds every later operation, including the wait for another
        process's lock. A file with a newer schema raises ``SchemaTooNewError``.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailableError(f"sqlite: cannot create the data directory ({exc.strerror})") from exc
        writer = Lane("writer", timeout_seconds)
        reader = Lane("reader", timeout_seconds)
        try:
            await writer.open(
                path,
                query_only=False,
                then=lambda conn: migrate(conn, path, lambda: to_ms(clock())),
                timeout=max(timeout_seconds, _MIGRATION_TIMEOUT_SECONDS),
            )
            # After the migrations, so the reader never sees a half-created schema.
            await reader.open(path, query_only=True)
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        return cls(path, writer, reader, Database(writer, reader, clock), dedupe_window_seconds)

    async def ping(self) -> None:
        await self._reader.run("ping", lambda conn: conn.execute("SELECT count(*) FROM schema_migrations").fetchall())

    async def aclose(self) -> None:
        try:
            await self._reader.close()
        finally:
            await self._writer.close()
