"""The Redis backend, one module per concern; :mod:`app.storage.redis_backend` is its import point.

- ``keys`` — the key scheme (hash tags) and the id/time encodings every module shares.
- ``guard`` — the timeout and error boundary: every Redis call goes through it.
- ``batching`` — the scripts called in one event-loop turn go to Redis as one pipeline.
- ``links``, ``events``, ``idempotency``, ``gates``, ``cursors``, ``audit`` — one store each, multi-key updates
  in Lua scripts kept next to the code that calls them.
"""
