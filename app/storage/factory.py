"""Pick and open the storage backend: Redis when ``REDIS_URL`` is set, else embedded SQLite."""

from __future__ import annotations

from pathlib import Path

from app.storage.ports import Storage

__all__ = ["SQLITE_FILE", "open_storage"]

SQLITE_FILE = "gateway.sqlite3"


async def open_storage(*, redis_url: str | None, data_dir: str) -> Storage:
    if redis_url:
        from app.storage.redis_backend import RedisStorage

        return await RedisStorage.open(redis_url)
    from app.storage.sqlite_backend import SqliteStorage

    return await SqliteStorage.open(Path(data_dir) / SQLITE_FILE)
