"""Fault injection: make the next matching requests fail the way a real upstream fails.

A `Fault` is armed for `times` matching requests and then spent. Matching faults are used in the order
they were injected, one fault per request.

What each fault does to a matching request (after sleeping `delay_ms`):

- `drop_connection`: the response starts (200, a `Content-Length` promising more) and the connection
  goes away mid-body. Under uvicorn the client sees a transport error
  (`httpx.RemoteProtocolError: peer closed connection without sending complete message body`); under
  in-process transports (`httpx.ASGITransport`, Litestar's test clients) the ASGI app raises
  `SandboxConnectionDroppedError`, a `ConnectionResetError`, which propagates out of the client call. A
  client that treats `httpx.TransportError` and `OSError` alike handles both.
- `body="junk"`: a non-JSON body (an HTML error page) labelled `application/json`, with `status` or 200.
- `body="truncated"`: the real response cut in the middle, `Content-Length` adjusted so the transport
  is happy and only JSON parsing fails, with `status` or the real status.
- `body="error"` with a `status`: commercetools' JSON error body for that status.
- `body="error"` without `status`: only the delay; the request then proceeds normally.

`retry_after` adds a `Retry-After` header to responses the fault produces.
"""

from app.sandbox.faults import ArmedFault, Fault, FaultInjector

__all__ = ["ArmedFault", "Fault", "FaultInjector", "SandboxConnectionDroppedError"]


class SandboxConnectionDroppedError(ConnectionResetError):
    """Raised inside the ASGI app to cut the connection; see the module docstring."""
