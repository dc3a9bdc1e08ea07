"""Benchmark: move N links embedded (SQLite) -> JSON lines -> Redis -> JSON lines.

    .venv/bin/python scripts/bench_links_roundtrip.py [--links 10000] [--redis redis://127.0.0.1:6379/0]

Machines here are noisy, so every step is also reported as a ratio to a baseline measured in the
same run: encoding and decoding the same links with msgspec in memory (the floor any transfer pays).
Uses a throwaway Redis namespace and a temporary SQLite file; cleans both up.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.mapping.loader import load_mappings
from app.storage.ports import Link
from app.storage.redis_backend import RedisStorage
from app.storage.sqlite_backend import SqliteStorage
from app.storage.transfer import export_links, import_links
from tests.storage.links_fixtures import make_links


async def main(count: int, redis_url: str) -> None:
    links = make_links(count)
    patterns = {k: re.compile(r.pattern) for k, r in load_mappings(Path("mappings")).links.kinds.items()}
    timings: dict[str, float] = {}

    started = time.perf_counter()
    encoded = [msgspec.json.encode(link) for link in links]
    decoder = msgspec.json.Decoder(Link)
    assert [decoder.decode(line) for line in encoded] == links
    timings["baseline: msgspec encode+decode in memory"] = time.perf_counter() - started

    namespace = f"ctnm-bench-{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = await SqliteStorage.open(Path(tmp) / "gateway.sqlite3")
        redis_store = await RedisStorage.open(redis_url, namespace=namespace)
        try:
            started = time.perf_counter()
            await sqlite.links.put_many(links)
            timings["sqlite: put_many"] = time.perf_counter() - started

            started = time.perf_counter()
            out = io.BytesIO()
            await export_links(sqlite.links, out)
            timings["sqlite: export (scan)"] = time.perf_counter() - started

            started = time.perf_counter()
            report = await import_links(redis_store.links, out.getvalue().splitlines(), patterns)
            timings["redis: import (put_many)"] = time.perf_counter() - started

            started = time.perf_counter()
            back = io.BytesIO()
            await export_links(redis_store.links, back)
            timings["redis: export (scan)"] = time.perf_counter() - started

            started = time.perf_counter()
            sqlite_again = await SqliteStorage.open(Path(tmp) / "again.sqlite3")
            try:
                await import_links(sqlite_again.links, back.getvalue().splitlines(), patterns)
            finally:
                await sqlite_again.aclose()
            timings["sqlite: import (put_many)"] = time.perf_counter() - started

            assert report.read == count
            assert back.getvalue() == out.getvalue(), "round trip changed the export"
        finally:
            await sqlite.aclose()
            await redis_store.aclose()
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{namespace}:*", count=1000):
                client.delete(key)
            client.close()

    baseline = timings["baseline: msgspec encode+decode in memory"]
    print(f"{count} links, none lost (exports identical)")
    for step, seconds in timings.items():
        print(f"  {step:<45} {seconds * 1000:9.1f} ms   {seconds / baseline:7.1f}x baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.links, arguments.redis))
