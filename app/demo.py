"""``ctnm demo``: the gateway, the built-in commercetools and novomind sandboxes, on loopback, until Ctrl-C.

The gateway talks to both sandboxes over real HTTP exactly as it would to commercetools and iAGENT,
with settings built here instead of read from the environment (only ``GATEWAY_JWT_SECRET`` is taken
from it when set, so tokens minted with ``ctnm token`` keep working across demo restarts). The status
pusher runs in the gateway process on the embedded backend, as ``ctnm serve`` runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable, Generator
from pathlib import Path

import uvicorn
from litestar.types import ASGIApp

from app.access import mint_token
from app.asgi import create_app
from app.http_server import OneWritePerTurnProtocol
from app.mapping.loader import load_mappings
from app.observability import configure_logging
from app.sandbox.commercetools import SandboxConfig, create_commercetools_sandbox
from app.sandbox.commercetools.seed import (
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    DEMO_TICKET_ID,
    JP_ORDER_NUMBER,
    US_ORDER_NUMBER,
)
from app.sandbox.novomind import NovomindSandboxConfig, Ticket, create_novomind_sandbox
from app.settings import CommercetoolsSettings, GatewaySettings, NovomindSettings, Secret, Settings
from app.widget.context import signed_query

__all__ = ["bind_loopback", "demo_settings", "run_demo"]

_PACKAGE_MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"


def _mappings_dir() -> Path:
    configured = os.environ.get("GATEWAY_MAPPINGS_DIR")
    if configured:
        return Path(configured)
    return Path("mappings") if Path("mappings").is_dir() else _PACKAGE_MAPPINGS


def bind_loopback(host: str, port: int) -> socket.socket:
    """A listening socket bound before the server starts, so the URL we print is the real one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def demo_settings(
    sandbox_url: str,
    sandbox: SandboxConfig,
    jwt_secret: str,
    mappings_dir: Path,
    data_dir: Path,
    *,
    novomind_url: str | None = None,
    novomind: NovomindSandboxConfig | None = None,
    events_secret: str | None = None,
    widget_secret: str | None = None,
    widget_frame_ancestors: str = "",
) -> Settings:
    novomind = novomind or NovomindSandboxConfig()
    return Settings(
        commercetools=CommercetoolsSettings(
            project_key=sandbox.project_key,
            client_id=sandbox.client_id,
            client_secret=Secret(sandbox.client_secret),
            auth_url=sandbox_url,
            api_url=sandbox_url,
        ),
        gateway=GatewaySettings(
            jwt_secret=Secret(jwt_secret),
            mappings_dir=str(mappings_dir),
            data_dir=str(data_dir),
            events_secret=Secret(events_secret) if events_secret else None,
            widget_secret=Secret(widget_secret) if widget_secret else None,
            widget_frame_ancestors=widget_frame_ancestors,
        ),
        novomind=None
        if novomind_url is None
        else NovomindSettings(
            base_url=novomind_url,
            client_id=novomind.client_id,
            client_secret=Secret(novomind.client_secret),
            username=novomind.username,
            password=Secret(novomind.password),
        ),
    )


class _SharedSignalServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the demo: one process hosts two servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _server(app: ASGIApp) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", http=OneWritePerTurnProtocol)
    return _SharedSignalServer(config)


DEMO_JWT_SECRET = "ctnm-demo-secret-for-development-only-never-deploy"  # noqa: S105 - documented, demo only
"""Fixed so that `ctnm token` mints tokens the demo accepts across restarts (README: Try it)."""
DEMO_WIDGET_SECRET = "ctnm-demo-widget-secret-development-only-never-deploy"  # noqa: S105 - demo only
"""Signs the widget links the sandbox desk frames (docs/widget.md); fixed and public: development only."""
DEMO_WIDGET_TTL_SECONDS = 900
DEMO_DATA_DIR = Path("data")
_STORE_FILES = ("gateway.sqlite3", "gateway.sqlite3-wal", "gateway.sqlite3-shm")


def prepare_demo_data(data_dir: Path, *, fresh: bool) -> Path:
    """The demo keeps its links and queue in ``data_dir`` (``./data``: where `ctnm links` looks by
    default); ``fresh`` starts from an empty store, removing only the store's own files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in _STORE_FILES:
            (data_dir / name).unlink(missing_ok=True)
    return data_dir


def widget_guide(gateway_url: str, jwt_secret: str, widget_secret: str) -> str:
    """How to open the agent widget as novomind's plugin would: a signed link, minted fresh."""
    return f"""
The agent widget for ticket {DEMO_TICKET_ID}, as the novomind plugin opens it: print a signed link
(valid 15 minutes) and open it in a browser; --role supervisor may reveal personal data field by
field (audited), --locale en-GB shows English labels:
  GATEWAY_JWT_SECRET={jwt_secret} GATEWAY_WIDGET_SECRET={widget_secret} \\
    ctnm widget-url --base-url {gateway_url} --agent-id demo-agent --ticket-id {DEMO_TICKET_ID} \\
    --contact-email {DEMO_CUSTOMER_EMAIL} --order-number {DEMO_ORDER_NUMBER}"""


def desk_widget(gateway_url: str, secret: str) -> Callable[[Ticket], str]:
    """The widget link the novomind-side plugin would sign for a ticket on the desk, as `ctnm widget-url`
    signs it; made fresh for every desk page load, so a reload never shows an expired link. The ticket
    is named as the shop's orders name it (the `T-` of mappings/links.toml), its process as novomind does."""

    def signed(ticket: Ticket) -> str:
        params = {
            "ticketId": f"T-{ticket.id}",
            "processId": str(ticket.process_id),
            "agentId": "demo-agent",
            "role": "agent",
            "exp": str(int(time.time()) + DEMO_WIDGET_TTL_SECONDS),
        }
        return f"{gateway_url}/widget?{signed_query(params, secret)}"

    return signed


def demo_guide(gateway_url: str, jwt_secret: str, admin_token: str, data_dir: Path) -> str:
    """What the demo prints beyond the curls: the operator's token, how to mint more, where data lives."""
    return f"""
Operator token (push:admin audit:read; dead letters and the audit trail):
  {admin_token}
  curl -s -H "Authorization: Bearer {admin_token}" {gateway_url}/v1/dead-letters
Mint more tokens for this demo with `ctnm token` after setting the demo's secret:
  export GATEWAY_JWT_SECRET={jwt_secret}
  ctnm token --scope "orders:read customers:read pii:read" --stores de-store
Links, queue and audit trail live in {data_dir.resolve()} (`ctnm links list --data-dir {data_dir}`;
start empty with `ctnm demo --fresh`). Access log: one JSON line per request on standard error.
Problem types: {gateway_url}/problems"""


async def run_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    latency_ms: int = 0,
    data_dir: Path = DEMO_DATA_DIR,
    fresh: bool = False,
) -> None:
    configure_logging("INFO")
    jwt_secret = os.environ.get("GATEWAY_JWT_SECRET") or DEMO_JWT_SECRET
    mappings_dir = _mappings_dir()
    load_mappings(mappings_dir)  # fail before binding anything

    sandbox_config = SandboxConfig(latency_ms=latency_ms)
    sandbox_sock = bind_loopback("127.0.0.1", 0)
    sandbox_url = f"http://127.0.0.1:{sandbox_sock.getsockname()[1]}"
    novomind_sock = bind_loopback("127.0.0.1", 0)
    novomind_url = f"http://127.0.0.1:{novomind_sock.getsockname()[1]}"
    gateway_sock = bind_loopback(host, port)
    gateway_url = f"http://{host}:{gateway_sock.getsockname()[1]}"

    data_dir = prepare_demo_data(data_dir, fresh=fresh)
    events_secret = secrets.token_urlsafe(24)
    # Per run, like the events secret: the widget links the guide prints are signed with it.
    # Fixed like the demo's JWT secret: the desk, the printed widget-url command and a restarted demo
    # all sign with it. Development only; never a deployment's key.
    widget_secret = DEMO_WIDGET_SECRET
    novomind_config = NovomindSandboxConfig()
    settings = demo_settings(
        sandbox_url,
        sandbox_config,
        jwt_secret,
        mappings_dir,
        data_dir,
        novomind_url=novomind_url,
        novomind=novomind_config,
        events_secret=events_secret,
        widget_secret=widget_secret,
        widget_frame_ancestors=novomind_url,  # the sandbox desk frames the widget
    )
    sandbox_server = _server(create_commercetools_sandbox(sandbox_config))
    novomind_server = _server(
        create_novomind_sandbox(novomind_config, desk_widget=desk_widget(gateway_url, widget_secret))
    )
    gateway_server = _server(create_app(settings))
    servers = (sandbox_server, novomind_server, gateway_server)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stop, *servers)

    def token(stores: list[str], *extra_scopes: str) -> str:
        return mint_token(
            jwt_secret,
            issuer=settings.gateway.jwt_issuer,
            audience=settings.gateway.jwt_audience,
            subject="demo-agent",
            scopes=["orders:read", "customers:read", "links:write", *extra_scopes],
            stores=stores,
            ttl_seconds=12 * 3600,
        )

    every_store = token(["*"])
    admin_token = token(["*"], "push:admin", "audit:read")
    tasks = [
        asyncio.create_task(sandbox_server.serve(sockets=[sandbox_sock])),
        asyncio.create_task(novomind_server.serve(sockets=[novomind_sock])),
        asyncio.create_task(gateway_server.serve(sockets=[gateway_sock])),
    ]
    while not all(server.started for server in servers):
        if any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.02)
    print(
        f"""
commercetools <-> novomind gateway demo
  gateway   {gateway_url}   (API docs: {gateway_url}/schema/swagger)
  sandbox   {sandbox_url}   (commercetools project "{sandbox_config.project_key}", seeded data)
  novomind  {novomind_url}   (iAGENT sandbox; tickets and memos: {novomind_url}/__sim/tickets, /__sim/memos)

An order from the German store, rendered for de-DE:
  curl -s -H "Authorization: Bearer {every_store}" {gateway_url}/v1/orders/{DEMO_ORDER_NUMBER}

Other markets: {US_ORDER_NUMBER} (us-store, USD), {JP_ORDER_NUMBER} (jp-store, JPY).
Everything an agent needs for ticket {DEMO_TICKET_ID} (linked through the order's custom field):
  curl -s -H "Authorization: Bearer {every_store}" "{gateway_url}/v1/lookup?ticketId={DEMO_TICKET_ID}"
Link another ticket by hand:
  curl -s -X PUT -H "Authorization: Bearer {every_store}" -H "Content-Type: application/json" \\
       -d '{{"orderNumber": "{US_ORDER_NUMBER}"}}' {gateway_url}/v1/links/4711
A token limited to the German store (other stores' orders answer 404):
  {token(["de-store"])}
Personal data is masked for these tokens. One with pii:read sees it (each such answer is audited,
see {gateway_url}/v1/audit with a token holding audit:read):
  {token(["*"], "pii:read", "audit:read")}

Status push: ship {DEMO_ORDER_NUMBER} in the commercetools sandbox and deliver its message as a
subscription would; ticket {DEMO_TICKET_ID.removeprefix("T-")} then holds the new state and a German memo:
  curl -s -X POST -d '[{{"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"}}]' \\
       {sandbox_url}/__sandbox/orders/order-number={DEMO_ORDER_NUMBER}/messages \\
    | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[0]))' \\
    | curl -s -X POST -H "Authorization: Bearer {events_secret}" --data-binary @- \\
       {gateway_url}/v1/events/commercetools
  curl -s {novomind_url}/__sim/memos

The agent desk of the novomind sandbox: ticket {DEMO_TICKET_ID.removeprefix("T-")}, its memos and the widget framed
beside them (a link signed with the demo's GATEWAY_WIDGET_SECRET, development only):
  {novomind_url}/__sim/desk/{DEMO_TICKET_ID.removeprefix("T-")}
{demo_guide(gateway_url, jwt_secret, admin_token, data_dir)}
{widget_guide(gateway_url, jwt_secret, widget_secret)}

Press Ctrl-C to stop.""",
        flush=True,
    )
    await asyncio.gather(*tasks)
    print("demo stopped", flush=True)


def _stop(*servers: uvicorn.Server) -> None:
    for server in servers:
        server.should_exit = True
