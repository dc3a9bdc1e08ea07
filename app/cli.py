"""``ctnm``: the gateway's command line (also ``python -m app``).

    ctnm serve [--host --port --workers --no-push --metrics-port]  run the gateway (settings from
                                           the environment); with the embedded backend it also runs
                                           the status pusher
    ctnm push [--workers N --poll --metrics-port]  status-push workers (several processes may share
                                           one queue)
    ctnm dlq list|show|replay              the pusher's dead letters
    ctnm backfill --since DATE [--restart]  queue what brings linked tickets up to date (resumable)
    ctnm reconcile [--dry-run]             compare linked tickets with their orders, queue repairs
    ctnm demo [--port --latency-ms]        gateway + built-in commercetools sandbox, seeded data
    ctnm token [--scope --stores --ttl]    mint a development caller token (GATEWAY_JWT_SECRET)
    ctnm openapi [--output | --check]      write or verify the committed OpenAPI document
    ctnm links list|export|import          stored links as JSON lines (move embedded -> Redis)
    ctnm audit [--subject --since ...]     who read which personal fields
    ctnm widget-url --agent-id --ticket-id ...  a widget link signed with GATEWAY_WIDGET_SECRET

Configuration problems end the command with exit code 2 and one line per problem, naming the variable or file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from app import __version__
from app.errors import GatewayError
from app.mapping.loader import MappingError, load_mappings
from app.operations import add_audit_parser, add_links_parser
from app.push.catch_up_command import add_backfill_parser, add_reconcile_parser
from app.push.command import add_dlq_parser
from app.settings import Settings, SettingsError, StorageSettings, load_gateway_settings, load_settings
from app.tracing import TracingConfigurationError, tracing_from_env
from app.widget.command import add_widget_url_parser

__all__ = ["main"]

_serve_log = logging.getLogger("app.serve")

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
    try:
        tracing_from_env(os.environ)  # asked for OTLP without the packages: say so before listening
    except TracingConfigurationError as exc:
        return _fail(str(exc))
    if (refusal := _check_upstream_at_start(settings, allow_degraded=args.allow_degraded_start)) is not None:
        return refusal
    if args.no_push:
        # Read by app_from_env in each uvicorn worker process.
        os.environ["GATEWAY_PUSH_IN_PROCESS"] = "false"
    with _metrics(args.metrics_host, args.metrics_port, processes=args.workers):
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
    _log_serve_stopped()
    return 0


@contextlib.contextmanager
def _metrics(host: str, port: int | None, *, processes: int) -> Iterator[None]:
    """Several worker processes share their metrics through prometheus-client's multiprocess files
    (a fresh directory per run, removed after); ``--metrics-port`` serves them from this process."""
    with contextlib.ExitStack() as stack:
        if processes > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="ctnm-metrics-")
            )
            stack.callback(os.environ.pop, "PROMETHEUS_MULTIPROC_DIR", None)
        if port is not None:
            from app.metrics import serve_metrics

            server, _ = serve_metrics(host, port)
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
        yield


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
        # One process: its workers are tasks sharing the process's own metrics.
        with _metrics(args.metrics_host, args.metrics_port, processes=1):
            return _run_service(run_push(os.environ, workers=args.workers, poll=args.poll))
    except (SettingsError, MappingError, ValueError, TracingConfigurationError) as exc:
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


def _catch_up(args: argparse.Namespace) -> int:
    from app.push.catch_up_command import run_backfill, run_reconcile

    command = run_backfill if args.command == "backfill" else run_reconcile
    try:
        return asyncio.run(command(os.environ, args))
    except (SettingsError, MappingError, ValueError) as exc:
        return _fail(str(exc))
    except GatewayError as exc:
        return _fail(exc.detail)


def _demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    try:
        asyncio.run(
            run_demo(
                host=args.host,
                port=args.port,
                latency_ms=args.latency_ms,
                data_dir=Path(args.data_dir),
                fresh=args.fresh,
            )
        )
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
        settings = load_storage_settings(os.environ)
        if (refusal := _missing_data_dir(args, settings)) is not None:
            return _fail(refusal)
        return asyncio.run(command(args, settings))
    except (SettingsError, MappingError) as exc:
        return _fail(str(exc))
    except GatewayError as exc:
        return _fail(exc.detail)


_HELP_FORMAT = argparse.ArgumentDefaultsHelpFormatter


class _HelpfulParser(argparse.ArgumentParser):
    """Every subcommand's help shows each option's default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HELP_FORMAT)
        super().__init__(*args, **kwargs)


def _positive_seconds(text: str) -> int:
    # A token that is born expired is never what the operator meant.
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 1 <= value <= 30 * 86_400:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..{30 * 86_400} seconds")
    return value


def _check_upstream_at_start(settings: Settings, *, allow_degraded: bool) -> int | None:
    """``ctnm serve``: start-up logged, commercetools credentials tried once; a failure stops the
    command (exit 2) unless ``--allow-degraded-start`` says to serve anyway (``/readyz`` then says 503)."""
    from app.asgi import check_commercetools
    from app.observability import configure_logging, log_event

    configure_logging(settings.gateway.log_level)
    log_event(_serve_log, logging.INFO, "serve.start", version=__version__)
    try:
        asyncio.run(check_commercetools(settings))
    except GatewayError as exc:
        message = (
            f"commercetools at {settings.commercetools.auth_url} did not give the gateway a token: {exc.detail}. "
            "Check CTP_CLIENT_ID, CTP_CLIENT_SECRET, CTP_PROJECT_KEY, CTP_AUTH_URL and CTP_SCOPES"
        )
        if not allow_degraded:
            return _fail(message + " (or start anyway with --allow-degraded-start)")
        log_event(_serve_log, logging.WARNING, "serve.degraded_start", reason=exc.code)
        print(f"ctnm: {message}; serving anyway (--allow-degraded-start)", file=sys.stderr)
    return None


def _log_serve_stopped() -> None:
    from app.observability import log_event

    log_event(_serve_log, logging.INFO, "serve.stop")


def add_demo_data_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--data-dir", default="data", help="where the demo keeps links, queue and audit trail")
    demo.add_argument("--fresh", action="store_true", help="start from an empty store (removes the demo's store files)")


def _missing_data_dir(args: argparse.Namespace, settings: StorageSettings) -> str | None:
    """A misspelt directory would otherwise open a new, empty store and report nothing stored."""
    redis_url = args.redis_url if args.redis_url is not None else settings.redis_url
    data_dir = Path(args.data_dir or settings.data_dir)
    if redis_url or data_dir.is_dir() or args.create:
        return None
    return f"{data_dir}: no such data directory (check the path, or give --create to start an empty store there)"


def _add_metrics_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port (off by default)"
    )
    command.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port (loopback by default)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctnm", description="commercetools <-> novomind support gateway", formatter_class=_HELP_FORMAT
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, parser_class=_HelpfulParser),
    )

    serve = commands.add_parser("serve", help="run the gateway with settings from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-push", action="store_true", help="do not run the status pusher in this process")
    serve.add_argument(
        "--allow-degraded-start",
        action="store_true",
        help="serve even when commercetools refuses the configured credentials at start-up",
    )
    _add_metrics_options(serve)
    serve.set_defaults(run=_serve)

    push = commands.add_parser("push", help="run status-push workers until SIGINT/SIGTERM")
    push.add_argument("--workers", type=int, default=1, help="workers in this process (each one consumer)")
    push.add_argument("--poll", action="store_true", default=None, help="also poll the Messages API")
    _add_metrics_options(push)
    push.set_defaults(run=_push)

    add_dlq_parser(commands).set_defaults(run=_dlq)
    add_backfill_parser(commands).set_defaults(run=_catch_up)
    add_reconcile_parser(commands).set_defaults(run=_catch_up)

    demo = commands.add_parser("demo", help="gateway + built-in commercetools sandbox with seeded data")
    demo.add_argument("--host", default="127.0.0.1", help="loopback only by default")
    demo.add_argument("--port", type=int, default=8000, help="gateway port (0 = any free port)")
    demo.add_argument("--latency-ms", type=int, default=0, help="added to every sandbox response")
    add_demo_data_options(demo)
    demo.set_defaults(run=_demo)

    token = commands.add_parser("token", help="mint a development JWT signed with GATEWAY_JWT_SECRET")
    token.add_argument(
        "--scope", default=DEFAULT_SCOPES, help="space-separated; an unknown one is refused, naming those known"
    )
    token.add_argument("--stores", default="*", help="comma-separated store keys, or * for all")
    token.add_argument("--ttl", type=_positive_seconds, default=3600, help="lifetime in seconds (1 to 30 days)")
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
