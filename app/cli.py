"""``ctnm``: the gateway's command line (also ``python -m app``).

    ctnm serve [--host --port --workers --no-push]  run the gateway (settings from the environment);
                                           with the embedded backend it also runs the status pusher
    ctnm push [--workers N --poll]         status-push workers (several processes may share one queue)
    ctnm dlq list|show|replay              the pusher's dead letters
    ctnm demo [--port --latency-ms]        gateway + built-in commercetools sandbox, seeded data
    ctnm token [--scope --stores --ttl]    mint a development caller token (GATEWAY_JWT_SECRET)
    ctnm openapi [--output | --check]      write or verify the committed OpenAPI document
    ctnm links list|export|import          stored links as JSON lines (move embedded -> Redis)
    ctnm audit [--subject --since ...]     who read which personal fields
    ctnm widget-url --agent-id --ticket-id ...  a widget link signed with GATEWAY_WIDGET_SECRET

Configuration problems end the command with one line naming the variable or file, exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from app.errors import GatewayError
from app.mapping.loader import MappingError, load_mappings
from app.operations import add_audit_parser, add_links_parser
from app.push.command import add_dlq_parser
from app.settings import SettingsError, load_gateway_settings, load_settings
from app.widget.command import add_widget_url_parser

__all__ = ["main"]

DEFAULT_SCOPES = "orders:read customers:read"
OPENAPI_PATH = Path("openapi/openapi.json")


def _fail(message: str) -> int:
    print(f"ctnm: {message}", file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.http_server import OneWritePerTurnProtocol

    try:
        settings = load_settings(os.environ)
        load_mappings(Path(settings.gateway.mappings_dir))
    except (SettingsError, MappingError) as exc:
        return _fail(str(exc))
    if args.no_push:
        # Read by app_from_env in each uvicorn worker process.
        os.environ["GATEWAY_PUSH_IN_PROCESS"] = "false"
    uvicorn.run(
        "app.asgi:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        http=OneWritePerTurnProtocol,
    )
    return 0


def _run_service(main: Coroutine[Any, Any, int]) -> int:
    """Run a long-lived service on uvloop where it is installed (as uvicorn does for ``serve``).

    The pusher is bound by per-request event-loop work (socket writes, callbacks, timers); uvloop does
    that in C. Measured with ``scripts/bench_push.py``: see the README's speed section.
    """
    try:
        import uvloop
    except ImportError:  # not built for this platform (Windows): the standard loop works, only slower
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _push(args: argparse.Namespace) -> int:
    from app.push.command import run_push

    try:
        return _run_service(run_push(os.environ, workers=args.workers, poll=args.poll))
    except (SettingsError, MappingError, ValueError) as exc:
        return _fail(str(exc))
    except GatewayError as exc:
        return _fail(exc.detail)


def _dlq(args: argparse.Namespace) -> int:
    from app.push.command import run_dlq_command
    from app.settings import load_storage_settings

    try:
        return asyncio.run(run_dlq_command(args, load_storage_settings(os.environ)))
    except SettingsError as exc:
        return _fail(str(exc))
    except GatewayError as exc:
        return _fail(exc.detail)


def _demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    try:
        asyncio.run(run_demo(host=args.host, port=args.port, latency_ms=args.latency_ms))
    except KeyboardInterrupt:
        pass
    except (SettingsError, MappingError, OSError) as exc:
        return _fail(str(exc))
    return 0


def _token(args: argparse.Namespace) -> int:
    from app.access import SCOPES, mint_token

    try:
        gateway = load_gateway_settings(os.environ)
    except SettingsError as exc:
        return _fail(str(exc))
    if gateway.jwt_secret is None:
        return _fail("GATEWAY_JWT_SECRET: missing (tokens are signed with it)")
    scopes = args.scope.split()
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        return _fail(f"--scope: unknown scope(s) {', '.join(unknown)} (known: {', '.join(sorted(SCOPES))})")
    stores = [s for s in args.stores.split(",") if s]
    print(
        mint_token(
            gateway.jwt_secret.reveal(),
            issuer=gateway.jwt_issuer,
            audience=gateway.jwt_audience,
            subject=args.subject,
            scopes=scopes,
            stores=stores,
            ttl_seconds=args.ttl,
        )
    )
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from app.openapi import render_openapi

    document = render_openapi()
    path = Path(args.output)
    if args.check:
        if not path.exists() or path.read_bytes() != document:
            return _fail(f"{path} is out of date; run `ctnm openapi` and commit the result")
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document)
    print(f"wrote {path}")
    return 0


def _stored_data(args: argparse.Namespace) -> int:
    from app.operations import run_audit_command, run_links_command
    from app.settings import load_storage_settings

    command = run_links_command if args.command == "links" else run_audit_command
    try:
        return asyncio.run(command(args, load_storage_settings(os.environ)))
    except (SettingsError, MappingError) as exc:
        return _fail(str(exc))
    except GatewayError as exc:
        return _fail(exc.detail)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctnm", description="commercetools <-> novomind support gateway")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway with settings from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-push", action="store_true", help="do not run the status pusher in this process")
    serve.set_defaults(run=_serve)

    push = commands.add_parser("push", help="run status-push workers until SIGINT/SIGTERM")
    push.add_argument("--workers", type=int, default=1, help="workers in this process (each one consumer)")
    push.add_argument("--poll", action="store_true", default=None, help="also poll the Messages API")
    push.set_defaults(run=_push)

    add_dlq_parser(commands).set_defaults(run=_dlq)

    demo = commands.add_parser("demo", help="gateway + built-in commercetools sandbox with seeded data")
    demo.add_argument("--host", default="127.0.0.1", help="loopback only by default")
    demo.add_argument("--port", type=int, default=8000, help="gateway port (0 = any free port)")
    demo.add_argument("--latency-ms", type=int, default=0, help="added to every sandbox response")
    demo.set_defaults(run=_demo)

    token = commands.add_parser("token", help="mint a development JWT signed with GATEWAY_JWT_SECRET")
    token.add_argument("--scope", default=DEFAULT_SCOPES, help=f"space-separated (default: {DEFAULT_SCOPES!r})")
    token.add_argument("--stores", default="*", help="comma-separated store keys, or * for all (default)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.add_argument("--subject", default="dev-agent")
    token.set_defaults(run=_token)

    openapi = commands.add_parser("openapi", help="write (or --check) the committed OpenAPI document")
    openapi.add_argument("--output", default=str(OPENAPI_PATH))
    openapi.add_argument("--check", action="store_true", help="fail if the committed file differs")
    openapi.set_defaults(run=_openapi)

    add_links_parser(commands).set_defaults(run=_stored_data)
    add_audit_parser(commands).set_defaults(run=_stored_data)
    add_widget_url_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
