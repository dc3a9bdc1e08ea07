"""Moving links from the embedded backend to Redis and back loses none (10,000 links)."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import redis

from app.mapping.loader import load_mappings
from app.storage.ports import Link, Storage
from app.storage.redis_backend import RedisStorage
from app.storage.sqlite_backend import SqliteStorage
from app.storage.transfer import export_links, import_links, validate_lines
from tests.storage.links_fixtures import make_links
from tests.support import MAPPINGS, REPO

pytestmark = pytest.mark.integration
PATTERNS = {kind: re.compile(rule.pattern) for kind, rule in load_mappings(MAPPINGS).links.kinds.items()}


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Storage]:
    store = await SqliteStorage.open(tmp_path / "gateway.sqlite3")
    yield store
    await store.aclose()


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[Storage]:
    namespace = f"ctnm-test-{uuid.uuid4().hex}"
    store = await RedisStorage.open(redis_url, namespace=namespace, operation_timeout=5.0)
    yield store
    await store.aclose()
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


def _comparable(link: Link) -> Link:
    # version counts changes within one store and restarts at 1 in the target: everything else must survive.
    return msgspec.structs.replace(link, version=1)


async def _export(store: Storage) -> bytes:
    buffer = io.BytesIO()
    await export_links(store.links, buffer)
    return buffer.getvalue()


async def test_ten_thousand_links_round_trip_between_backends(
    sqlite_store: Storage, redis_store: Storage, tmp_path: Path
) -> None:
    original = make_links(10_000)
    assert await sqlite_store.links.put_many(original) == 10_000

    exported = await _export(sqlite_store)
    lines = exported.splitlines()
    assert len(lines) == 10_000
    assert validate_lines(lines, PATTERNS) == (10_000, [])
    report = await import_links(redis_store.links, lines, PATTERNS)
    assert (report.read, report.changed) == (10_000, 10_000)
    assert await redis_store.links.count() == 10_000

    back = await _export(redis_store)
    assert back == exported  # same bytes: same order, same fields
    restored = await SqliteStorage.open(tmp_path / "restored.sqlite3")
    try:
        await import_links(restored.links, back.splitlines(), PATTERNS)
        final = await _export(restored)
    finally:
        await restored.aclose()
    decoder = msgspec.json.Decoder(Link)
    assert {_comparable(decoder.decode(line)) for line in final.splitlines()} == {_comparable(x) for x in original}

    again = await import_links(redis_store.links, lines, PATTERNS)
    assert again.changed == 0  # importing the same file twice changes nothing


def test_invalid_lines_are_reported_and_nothing_is_imported(tmp_path: Path) -> None:
    good = make_links(3)
    lines = [msgspec.json.encode(link) for link in good]
    lines.insert(
        1, b'{"kind": "ticket", "reference": "not-a-ticket", "linkedBy": "x", "linkedAt": "2026-01-01T00:00:00Z"}'
    )
    lines.insert(3, b"{not json")
    lines.insert(4, b'{"kind": "fax", "reference": "1", "linkedBy": "x", "linkedAt": "2026-01-01T00:00:00Z"}')
    valid, invalid = validate_lines(lines, PATTERNS)
    assert valid == 3
    assert [(p.line, p.problem) for p in invalid] == [
        (2, "reference does not match the ticket pattern"),
        (4, "not a link"),
        (5, "unknown kind 'fax'"),
    ]


def test_cli_export_and_import(tmp_path: Path) -> None:
    """`ctnm links export|import` as an operator runs them (embedded -> embedded here; the function
    test above covers Redis without touching the default namespace of a shared server)."""

    async def seed() -> None:
        store = await SqliteStorage.open(tmp_path / "from" / "gateway.sqlite3")
        try:
            await store.links.put_many(make_links(250))
        finally:
            await store.aclose()

    asyncio.run(seed())
    dump = tmp_path / "links.jsonl"
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_MAPPINGS_DIR": str(MAPPINGS)}
    run = [sys.executable, "-m", "app", "links"]
    exported = subprocess.run(
        [*run, "--data-dir", str(tmp_path / "from"), "export", "-o", str(dump)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    assert "exported 250 links" in exported.stderr
    imported = subprocess.run(
        [*run, "--data-dir", str(tmp_path / "to"), "--create", "import", str(dump)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert "imported 250 links" in imported.stderr
    dump.write_bytes(dump.read_bytes() + b"garbage\n")
    refused = subprocess.run(
        [*run, "--data-dir", str(tmp_path / "to2"), "--create", "import", str(dump)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert "links.jsonl:251: not a link" in refused.stderr
