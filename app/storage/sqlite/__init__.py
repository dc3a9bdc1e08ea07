"""Embedded storage on SQLite (standard library ``sqlite3``), shared by processes through one file.

- ``engine`` — worker threads, bounded calls, transactions, time and id encodings
- ``schema`` — numbered migrations and ``schema_migrations``
- ``links``, ``queue``, ``keys`` (idempotency, cursors), ``audit`` — the stores
- ``storage`` — :class:`SqliteStorage`, the bundle the composition root opens
"""

from app.storage.sqlite.schema import SchemaTooNewError
from app.storage.sqlite.storage import SqliteStorage

__all__ = ["SchemaTooNewError", "SqliteStorage"]
