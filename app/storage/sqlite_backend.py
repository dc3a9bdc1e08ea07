"""The embedded backend's import point (see :mod:`app.storage.sqlite`)."""

from app.storage.sqlite import SchemaTooNewError, SqliteStorage

__all__ = ["SchemaTooNewError", "SqliteStorage"]
