"""Durable state: one small interface per concern (``ports``), two real backends.

- ``sqlite`` — embedded default: one SQLite file in ``GATEWAY_DATA_DIR``, WAL, migrations.
- ``redis`` — when ``REDIS_URL`` is set: hash-tagged keys (Redis Cluster safe), the event queue on
  Redis Streams with a consumer group.

Both pass one contract suite (``tests/storage``). Nothing outside ``app/storage`` imports a
backend module; the composition root picks one with :func:`app.storage.factory.open_storage`.
"""
