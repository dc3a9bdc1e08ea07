"""Threads, connections, transactions, time bounds and error mapping for the SQLite backend.

Threading model: a :class:`Lane` is one worker thread that owns one connection; every call runs
on it in submission order, so a connection is never shared between threads and in-process
callers queue in Python rather than spinning in SQLite's busy handler. The backend has two lanes:
a *writer* for everything that changes data (serialised anyway: SQLite has one writer per file)
and a *reader* for lookups, so reads keep flowing under WAL while a write waits for another
process's lock.

Bounds: each call gets a deadline when it is submitted. The worker refuses a call whose deadline
passed while it was queued, hands SQLite only the remaining time as ``busy_timeout`` (waits for
another connection's lock) and interrupts statements that run past it (progress handler). The
awaiting side adds a small grace on top for what neither can interrupt (a stalled disk), so a
caller always gets an answer or :class:`StorageUnavailableError` within about the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

from app.errors import StorageUnavailableError

__all__ = [
    "SEQ_MAX",
    "Database",
    "Lane",
    "duration_ms",
    "format_seq",
    "from_ms",
    "parse_seq",
    "seq_floor",
    "to_ms",
    "transaction",
    "unavailable",
]

T = TypeVar("T")

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)
# Ten years: long enough for any lease, TTL or delay, small enough to stay far from int64 overflow.
_MAX_DURATION_MS: Final = 10 * 366 * 86_400_000
# VM instructions between deadline checks: cheap enough to be invisible, frequent enough to stop
# a runaway statement within a millisecond or so.
_PROGRESS_STEPS: Final = 10_000
# What neither busy_timeout nor the progress handler can interrupt (a stalled fsync) gets this
# much on top of the timeout before the awaiting caller gives up.
_GRACE_SECONDS: Final = 1.0

_SEQ_WIDTH: Final = 20
SEQ_MAX: Final = 2**63 - 1
_SEQ_TEXT: Final = re.compile(r"[0-9]{20}")


# -- time ---------------------------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (UTC), truncated: the storage precision."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("storage times must be timezone-aware")
    return (moment - _EPOCH) // _ONE_MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def duration_ms(seconds: float) -> int:
    """A caller's duration in whole milliseconds; negative means "now", absurdly long is capped."""
    if math.isnan(seconds):
        raise ValueError("duration must be a number of seconds")
    return int(min(max(seconds, 0.0) * 1000.0, _MAX_DURATION_MS))


# -- sortable ids -------------------------------------------------------------------------------
#
# Dead-letter and audit ids are AUTOINCREMENT sequence numbers shown zero-padded, so that plain
# string order is the order they were created in. Callers page with any string (it may come from
# an HTTP query), so the cursor arithmetic below is exact string comparison, not parsing.


def format_seq(seq: int) -> str:
    return f"{seq:0{_SEQ_WIDTH}d}"


def parse_seq(text: str) -> int | None:
    """The sequence number an id names, or ``None`` if no id of ours looks like ``text``."""
    if not _SEQ_TEXT.fullmatch(text):
        return None
    seq = int(text)
    return seq if seq <= SEQ_MAX else None


def seq_floor(text: str) -> int:
    """The largest sequence number whose id sorts ``<= text`` as a string (-1 when none does)."""
    digits = 0
    while digits < min(len(text), _SEQ_WIDTH) and "0" <= text[digits] <= "9":
        digits += 1
    if digits == _SEQ_WIDTH:
        # Equal to its first 20 characters or longer than them: either way those 20 are <= text.
        floor = int(text[:_SEQ_WIDTH])
    elif digits < len(text) and text[digits] > "9":
        # Every id sharing the digit prefix is smaller (its next character is a digit).
        floor = int(text[:digits] + "9" * (_SEQ_WIDTH - digits))
    else:
        # Text ends or continues below "0" here: ids sharing the prefix are larger.
        floor = int(text[:digits] + "0" * (_SEQ_WIDTH - digits)) - 1
    return min(floor, SEQ_MAX)


# -- errors -------------------------------------------------------------------------------------


def unavailable(op: str, exc: sqlite3.Error, timeout: float) -> StorageUnavailableError:
    """An operator-readable error naming the operation and SQLite's error code, never data."""
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        detail = f"sqlite {op}: database is locked by another connection (waited up to {timeout:g}s)"
    elif name == "SQLITE_INTERRUPT":
        detail = f"sqlite {op}: did not finish within {timeout:g}s"
    else:
        detail = f"sqlite {op} failed ({name})"
    return StorageUnavailableError(detail, retry_after_seconds=1.0)


# -- transactions -------------------------------------------------------------------------------


def transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction: it takes the write lock up front, so a
    read-modify-write never meets a concurrent writer halfway (no SQLITE_BUSY_SNAPSHOT) and the
    only lock wait is here, bounded by ``busy_timeout``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body(conn)
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back (interrupt, I/O error); the original error matters.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return result


# -- lanes --------------------------------------------------------------------------------------


def in_one_transaction(
    conn: sqlite3.Connection, bodies: list[tuple[str, Callable[[sqlite3.Connection], Any]]], timeout: float
) -> list[tuple[bool, Any]]:
    """Run ``bodies`` in one ``BEGIN IMMEDIATE`` transaction, each in a savepoint of its own: a body that
    fails is rolled back alone and its error becomes its outcome (``(False, error)``); the others
    commit together. One lock, one commit for several small writes instead of one each."""
    conn.execute("BEGIN IMMEDIATE")
    outcomes: list[tuple[bool, Any]] = []
    try:
        for op, body in bodies:
            conn.execute("SAVEPOINT one")
            try:
                result = body(conn)
            except Exception as exc:
                if not conn.in_transaction:  # SQLite ended the whole transaction (interrupt, I/O error)
                    raise
                conn.execute("ROLLBACK TO one")
                conn.execute("RELEASE one")
                outcomes.append((False, unavailable(op, exc, timeout) if isinstance(exc, sqlite3.Error) else exc))
                continue
            conn.execute("RELEASE one")
            outcomes.append((True, result))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return outcomes


class Lane:
    """One worker thread owning one connection (see the module docstring)."""

    def __init__(self, name: str, timeout: float) -> None:
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{name}")
        self._conn: sqlite3.Connection | None = None
        self._deadline = math.inf
        self._closed = False

    @property
    def timeout(self) -> float:
        return self._timeout

    async def open(
        self,
        path: Path,
        *,
        query_only: bool,
        then: Callable[[sqlite3.Connection], Any] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Connect on the lane's own thread (the connection never leaves it), then run ``then``."""

        def connect() -> None:
            # Lock waits while opening (migrations) share the open's deadline like any other call.
            remaining = max(0.001, self._deadline - time.monotonic())
            conn = sqlite3.connect(path, timeout=remaining, isolation_level=None, cached_statements=256)
            try:
                conn.set_progress_handler(self._past_deadline, _PROGRESS_STEPS)
                self._configure(conn, query_only=query_only)
                self._conn = conn
                if then is not None:
                    then(conn)
            except BaseException:
                self._conn = None
                conn.close()
                raise

        await self._submit("open", connect, timeout or self._timeout)

    def _configure(self, conn: sqlite3.Connection, *, query_only: bool) -> None:
        self._use_wal(conn)
        # NORMAL under WAL: a power cut may lose the last commits but never corrupts the file.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if query_only:
            conn.execute("PRAGMA query_only = ON")

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """WAL lets readers (in this and other processes) proceed while one writer works. It is a
        property of the file, so it is switched only once, by whichever process gets there first."""
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchall()[0][0] == "wal":
                    return
                if conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0] == "wal":
                    return
                raise sqlite3.OperationalError("cannot use WAL journal mode on this file system")
            except sqlite3.OperationalError as exc:
                # While another process switches a fresh file, SQLite answers BUSY at once rather
                # than waiting (its deadlock avoidance), so busy_timeout does not cover this.
                if getattr(exc, "sqlite_errorname", None) != "SQLITE_BUSY" or self._past_deadline():
                    raise
                time.sleep(0.01)

    async def run(self, op: str, work: Callable[[sqlite3.Connection], T], *, timeout: float | None = None) -> T:
        """Run ``work`` with this lane's connection, bounded by ``timeout`` (the lane's default)."""
        return await self._submit(op, lambda: self._with_connection(work), timeout or self._timeout)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def disconnect() -> None:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, disconnect)
        finally:
            # The worker is idle now (the close ran last), so joining it returns at once.
            self._executor.shutdown(wait=True)

    def _past_deadline(self) -> bool:
        return time.monotonic() > self._deadline

    def _with_connection(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StorageUnavailableError("sqlite: storage is closed")
        remaining = self._deadline - time.monotonic()
        conn.execute(f"PRAGMA busy_timeout = {max(1, int(remaining * 1000))}")
        return work(conn)

    async def _submit(self, op: str, call: Callable[[], T], timeout: float) -> T:
        deadline = time.monotonic() + timeout

        def bounded() -> T:
            if time.monotonic() >= deadline:
                raise StorageUnavailableError(f"sqlite {op}: waited {timeout:g}s behind other operations")
            self._deadline = deadline
            try:
                return call()
            except sqlite3.Error as exc:
                raise unavailable(op, exc, timeout) from exc
            finally:
                self._deadline = math.inf

        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, bounded)
        except RuntimeError:
            raise StorageUnavailableError(f"sqlite {op}: storage is closed") from None
        try:
            return await asyncio.wait_for(future, timeout + _GRACE_SECONDS)
        except TimeoutError:
            # The statement may still complete: like any timeout, the outcome is unknown.
            raise StorageUnavailableError(f"sqlite {op}: no answer within {timeout:g}s") from None


_Batched: TypeAlias = tuple[str, Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]


class Database:
    """The two lanes and the clock, as the stores use them.

    Writes marked ``together`` that are submitted in one turn of the event loop share one transaction
    (:func:`in_one_transaction`), as the Redis backend sends one turn's script calls as one pipeline:
    the push worker sends a write's history entry, its completion and the event's next gate or key
    call in one turn, which on SQLite was a transaction, a lock and a commit each. Each keeps its own
    outcome and atomicity (a savepoint); batching changes when a write runs, never what it does.
    """

    def __init__(self, writer: Lane, reader: Lane, clock: Callable[[], datetime]) -> None:
        self._writer = writer
        self._reader = reader
        self._clock = clock
        self._pending: list[_Batched] = []
        self._running: set[asyncio.Task[None]] = set()

    def now_ms(self) -> int:
        return to_ms(self._clock())

    async def write(self, op: str, body: Callable[[sqlite3.Connection], T], *, together: bool = False) -> T:
        """``body`` in one write transaction on the writer lane; ``together``: in one with the other
        ``together`` writes of this loop turn (see the class docstring)."""
        if not together:
            return await self._writer.run(op, lambda conn: transaction(conn, body))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((op, body, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.ensure_future(self._write_batch(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _write_batch(self, batch: list[_Batched]) -> None:
        bodies = [(op, body) for op, body, _ in batch]
        timeout = self._writer.timeout
        try:
            outcomes = await self._writer.run(
                "+".join(dict.fromkeys(op for op, _ in bodies)), lambda conn: in_one_transaction(conn, bodies, timeout)
            )
        except BaseException as exc:  # handed to every caller of the batch, a cancellation too
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue  # the caller stopped waiting
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def on_writer(self, op: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the writer lane, which decides itself whether (and when) to call
        :func:`transaction`: for a cheap lock-free look before taking the write lock."""
        return await self._writer.run(op, work)

    async def read(self, op: str, body: Callable[[sqlite3.Connection], T]) -> T:
        """``body`` on the reader lane (``query_only``). Each statement reads one committed snapshot,
        so a read that must be consistent across tables is written as one statement."""
        return await self._reader.run(op, body)
