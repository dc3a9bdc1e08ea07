"""Fault injection: make the next matching requests fail the way a real upstream fails.

The mechanism is shared with the commercetools sandbox (`app.sandbox.faults`): a `Fault` is armed
for `times` matching requests and then spent; matching faults are used in the order they were
injected, one per request. After sleeping `delay_ms`:

- `drop_connection`: the response starts (200, a `Content-Length` promising more) and the connection
  goes away mid-body. Under uvicorn the client sees `httpx.RemoteProtocolError`; in-process (httpx's
  ASGI transport, Litestar's test clients) the app raises `NovomindConnectionDroppedError`, a
  `ConnectionResetError`.
- `body="junk"`: a non-JSON body (an HTML error page) labelled `application/json;charset=UTF-8`, with
  `status` or 200.
- `body="truncated"`: the real response cut in the middle, `Content-Length` adjusted, with `status` or
  the real status.
- `body="error"` with a `status`: iAGENT's JSON error body for that status (`401` adds
  `WWW-Authenticate: Bearer`, i.e. it looks like an expired token).
- `body="error"` without `status`: only the delay; the request then proceeds normally.

`retry_after` adds a `Retry-After` header to responses the fault produces.
"""

from app.sandbox.faults import ArmedFault, Fault, FaultInjector

__all__ = ["ArmedFault", "Fault", "FaultInjector", "NovomindConnectionDroppedError"]


class NovomindConnectionDroppedError(ConnectionResetError):
    """Raised inside the ASGI app to cut the connection; see the module docstring."""
