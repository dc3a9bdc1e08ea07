"""Moving links between deployments: export to JSON lines, import from them.

The format is one ``Link`` per line in its camelCase JSON form, so an export from the embedded
backend imports into Redis (and back) without losing a field; only ``version``, which counts
changes within one store, restarts at 1 in the target. Imports validate every line before writing
anything: a half-imported file is worse than none. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO

import msgspec

from app.storage.ports import Link, LinkStore

__all__ = ["BATCH", "ImportReport", "InvalidLine", "export_links", "import_links", "validate_lines"]

BATCH = 500
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Link)


class InvalidLine(msgspec.Struct, frozen=True):
    line: int
    problem: str


class ImportReport(msgspec.Struct, frozen=True):
    read: int
    changed: int
    """Links written; the rest were already stored exactly so (an import is idempotent)."""


async def export_links(store: LinkStore, out: IO[bytes], *, on_progress: Callable[[int], None] = lambda n: None) -> int:
    """Write every link as one JSON line, in ``(kind, reference)`` order; returns how many."""
    count = 0
    after: tuple[str, str] | None = None
    while True:
        page = await store.scan(after=after, limit=BATCH)
        if not page:
            return count
        out.write(b"".join(_encoder.encode(link) + b"\n" for link in page))
        count += len(page)
        on_progress(len(page))
        after = (page[-1].kind, page[-1].reference)


def _decode(lines: Iterable[bytes], patterns: Mapping[str, re.Pattern[str]]) -> Iterator[Link | InvalidLine]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            link = _decoder.decode(raw)
        except msgspec.MsgspecError as exc:
            # The decoder names the field and type; the line itself may hold ids, never echoed.
            yield InvalidLine(number, str(exc).split(" - at ")[-1] if " - at " in str(exc) else "not a link")
            continue
        pattern = patterns.get(link.kind)
        if pattern is None:
            yield InvalidLine(number, f"unknown kind {link.kind!r}")
        elif not pattern.fullmatch(link.reference):
            yield InvalidLine(number, f"reference does not match the {link.kind} pattern")
        else:
            yield link


def validate_lines(
    lines: Iterable[bytes], patterns: Mapping[str, re.Pattern[str]], *, most: int = 20
) -> tuple[int, list[InvalidLine]]:
    """Count valid links and collect (up to ``most``) invalid lines, without writing anything."""
    valid = 0
    invalid: list[InvalidLine] = []
    for item in _decode(lines, patterns):
        if isinstance(item, InvalidLine):
            if len(invalid) < most:
                invalid.append(item)
        else:
            valid += 1
    return valid, invalid


async def import_links(
    store: LinkStore,
    lines: Iterable[bytes],
    patterns: Mapping[str, re.Pattern[str]],
    *,
    on_progress: Callable[[int], None] = lambda n: None,
) -> ImportReport:
    """Put every link (call :func:`validate_lines` first: invalid lines are skipped here)."""
    read = changed = 0
    batch: list[Link] = []
    for item in _decode(lines, patterns):
        if isinstance(item, InvalidLine):
            continue
        batch.append(item)
        if len(batch) == BATCH:
            changed += await store.put_many(batch)
            read += len(batch)
            on_progress(len(batch))
            batch = []
    if batch:
        changed += await store.put_many(batch)
        read += len(batch)
        on_progress(len(batch))
    return ImportReport(read=read, changed=changed)
