"""The widget's real-browser rig, shared by the browser tests and scripts/widget_screenshots.py and
scripts/bench_widget.py: the seeded commercetools sandbox, the gateway (widget on), a stand-in agent
desk on an allowed origin and one on another origin, all on loopback ports; Debian's Chromium.
"""

from __future__ import annotations

import asyncio
import html
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Litestar, MediaType, Request, Response, get
from litestar.datastructures import State

from app.asgi import create_app
from app.mapping.loader import load_mappings
from app.mapping.schema import CacheFile, CacheRule
from app.sandbox.commercetools import SandboxConfig, create_commercetools_sandbox
from app.sandbox.faults import Fault
from app.settings import Secret
from app.storage.factory import open_storage
from app.storage.ports import PushRecord
from app.widget.context import signed_query
from tests.support import MAPPINGS, ThreadedServer, settings_for

CHROMIUM = Path("/usr/bin/chromium")
SECRET = "b" * 40
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FRAME_WIDTH = 400


def require_browser() -> None:
    """Skip only when asked (CTNM_SKIP_BROWSER_TESTS=1); a missing Chromium fails with the fix, so CI
    can never pass without having run the browser tests. Call at a test module's top."""
    import pytest

    if os.environ.get("CTNM_SKIP_BROWSER_TESTS") == "1":
        pytest.skip("browser tests skipped on request (CTNM_SKIP_BROWSER_TESTS=1)", allow_module_level=True)
    if not CHROMIUM.exists():
        pytest.fail(
            "browser tests need Debian's chromium at /usr/bin/chromium: `apt-get install -y chromium` "
            "(.ci/run does it), or set CTNM_SKIP_BROWSER_TESTS=1 to skip them on purpose",
            pytrace=False,
        )


FRAME_HEIGHT = 900


@get("/", media_type=MediaType.HTML, sync_to_thread=False)
def _host(request: Request[object, object, State]) -> Response[str]:
    """The agent desk stand-in: a page that frames the widget link it is given, at the size asked."""
    src = html.escape(request.query_params["src"], quote=True)
    width = int(request.query_params.get("w", FRAME_WIDTH))
    height = int(request.query_params.get("h", FRAME_HEIGHT))
    return Response(
        "<!doctype html><title>desk</title><style>body{margin:0}iframe{border:0;display:block}</style>"
        f'<iframe id="w" title="widget" src="{src}" width="{width}" height="{height}"></iframe>'
    )


@get("/static-baseline", media_type=MediaType.HTML, sync_to_thread=False)
def _baseline() -> str:
    """A bare page with one same-origin frame of no script: the bench's baseline for a framed load."""
    return "<!doctype html><title>baseline</title><p>baseline</p>"


@dataclass
class Rig:
    sandbox: ThreadedServer
    sandbox_state: Any
    gateway: ThreadedServer
    stale_gateway: ThreadedServer
    allowed: ThreadedServer
    other: ThreadedServer
    data_dir: Path
    """The gateway's embedded store: a test seeds what the pusher would have stored there."""

    def link(self, gateway: ThreadedServer | None = None, **params: str) -> str:
        """A signed widget link (agent role, ticket 4711, ten minutes) with ``params`` on top."""
        base = {"agentId": "agent-7", "role": "agent", "exp": str(int(time.time()) + 600), "ticketId": "4711"}
        merged = {k: v for k, v in {**base, **params}.items() if v}
        return f"{(gateway or self.gateway).url}/widget?{signed_query(merged, SECRET)}"

    def desk(
        self, link: str, *, host: ThreadedServer | None = None, width: int = FRAME_WIDTH, height: int = FRAME_HEIGHT
    ) -> str:
        return f"{(host or self.allowed).url}/?src={quote(link, safe='')}&w={width}&h={height}"

    def record_pushes(self, records: list[PushRecord]) -> None:
        """What the pusher would have recorded for tickets, written to the gateway's embedded store.

        In a thread of its own: sync Playwright keeps an event loop running in the caller's."""

        async def write() -> None:
            storage = await open_storage(redis_url=None, data_dir=str(self.data_dir))
            try:
                await storage.history.record(records, keep=50)
            finally:
                await storage.aclose()

        worker = threading.Thread(target=asyncio.run, args=(write(),))
        worker.start()
        worker.join(timeout=30)

    def fault(self, **fields: Any) -> None:
        """Arm a commercetools sandbox fault (app/sandbox/faults.py), e.g. path_contains=, status=, times=."""
        self.sandbox_state.faults.inject(Fault(**fields))

    def reset(self) -> None:
        self.sandbox_state.reset()


def _gateway_app(ct_url: str, allowed: str, *, cache: CacheFile | None = None, data_dir: Path | None = None) -> Any:
    settings = settings_for(ct_url, data_dir=str(data_dir) if data_dir is not None else None)
    gateway = msgspec.structs.replace(settings.gateway, widget_secret=Secret(SECRET), widget_frame_ancestors=allowed)
    mappings = load_mappings(MAPPINGS)
    if cache is not None:
        mappings = msgspec.structs.replace(mappings, cache=cache)
    return create_app(msgspec.structs.replace(settings, gateway=gateway), mappings=mappings)


@contextmanager
def rig() -> Iterator[Rig]:
    with ExitStack() as stack:
        sandbox_app = create_commercetools_sandbox(SandboxConfig())
        sandbox = stack.enter_context(ThreadedServer(sandbox_app))
        allowed = stack.enter_context(ThreadedServer(Litestar([_host, _baseline])))
        other = stack.enter_context(ThreadedServer(Litestar([_host])))
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="widget-rig-")))
        gateway = stack.enter_context(ThreadedServer(_gateway_app(sandbox.url, allowed.url, data_dir=data_dir)))
        # Every view expires at once (ttl 0): with commercetools failing, the next read is answered
        # stale from the cache, without waiting for a clock.
        never_fresh = CacheFile(default=CacheRule(ttl_seconds=0, max_stale_seconds=3600, refresh_wait_seconds=0.5))
        stale_gateway = stack.enter_context(ThreadedServer(_gateway_app(sandbox.url, allowed.url, cache=never_fresh)))
        yield Rig(sandbox, sandbox_app.state.sandbox, gateway, stale_gateway, allowed, other, data_dir)
