"""How the gateway's HTTP servers run: granian, and this is the one module that knows it.

``ctnm serve`` is granian's own server (worker processes, graceful SIGINT/SIGTERM, HTTP/1.1 parsing and
write flow control in Rust). The demo, the benchmark's sandboxes and the tests' loopback servers serve
app objects they built themselves, inside an event loop of theirs: granian's embedded server, one per
app. granian replaced a patch of uvicorn's HTTP protocol (one socket write per loop turn) that was as
fast but could not keep uvicorn's write flow control; see the README's speed section for both measured.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Final

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops
from granian.log import LogLevels
from granian.server.embed import Server
from litestar.types import ASGIApp

__all__ = ["EmbeddedServer", "reserve_port", "serve_gateway"]

# Plain HTTP/1.1 (what commercetools, iAGENT and callers' proxies speak); no h2c detection per connection.
_HTTP: Final = HTTPModes.http1


def serve_gateway(*, target: str, host: str, port: int, workers: int) -> None:
    """Serve the ASGI app factory ``target`` (``module:function``) until SIGINT/SIGTERM, which finish
    the requests in flight and the app's shutdown (lifespan) before the workers exit."""
    Granian(
        target,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.auto,  # uvloop where it is installed
        http=_HTTP,
        log_level=LogLevels.warning,
        log_access=False,
    ).serve()


def reserve_port(host: str, port: int = 0) -> socket.socket:
    """A socket bound to ``(host, port)`` with ``SO_REUSEPORT`` and not listening: the port (a free one
    for 0) is ours, and granian's listener binds it beside this one (granian sets ``SO_REUSEPORT``
    too). A socket that does not listen is never given a connection. Close it once the server runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class EmbeddedServer:
    """One ASGI app served by granian in the running event loop, on a reserved loopback port."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, lifespan: bool = True) -> None:
        self._reservation = reserve_port(host, port)
        self.host = host
        self.port: int = self._reservation.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server = Server(
            app,
            address=host,
            port=self.port,
            # Without lifespan for an app another server already runs (its startup must not run twice).
            interface=Interfaces.ASGI if lifespan else Interfaces.ASGINL,
            http=_HTTP,
            log_enabled=False,
        )

    async def serve(self) -> None:
        """Serve until :meth:`stop`; lifespan startup and shutdown run inside."""
        try:
            await self._server.serve()
        finally:
            self._reservation.close()

    def stop(self) -> None:
        self._server.stop()  # type: ignore[no-untyped-call]  # granian's embedded server is untyped here

    async def wait_listening(self, task: asyncio.Task[None], *, timeout: float = 15.0) -> None:
        """Return once a connection to the port is accepted (``task`` is this server's :meth:`serve`)."""
        async with asyncio.timeout(timeout):
            while True:
                if task.done():
                    task.result()
                    raise RuntimeError("the server stopped before it listened")
                try:
                    _, writer = await asyncio.open_connection(self.host, self.port)
                except OSError:
                    await asyncio.sleep(0.01)
                    continue
                writer.close()
                await writer.wait_closed()
                return
