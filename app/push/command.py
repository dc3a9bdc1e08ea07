"""``ctnm push`` (workers until SIGINT/SIGTERM) and ``ctnm dlq list|show|replay``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path

import msgspec

from app.mapping.loader import load_mappings
from app.observability import configure_logging, export_spans
from app.push.dead_letters import DeadLetterService, view_of
from app.settings import StorageSettings, load_settings
from app.storage.factory import open_storage
from app.tracing import tracing_from_env

__all__ = ["add_dlq_parser", "run_dlq_command", "run_push"]

_encoder = msgspec.json.Encoder()


async def run_push(environ: Mapping[str, str], *, workers: int, poll: bool | None) -> int:
    from app.asgi import build_pusher  # the composition root wires the pusher for serve and push alike

    settings = load_settings(environ)
    configure_logging(settings.gateway.log_level)
    mappings = load_mappings(Path(settings.gateway.mappings_dir))
    spans = tracing_from_env(environ)
    export_spans(spans)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    storage = await open_storage(redis_url=settings.redis_url, data_dir=settings.gateway.data_dir)
    try:
        async with AsyncExitStack() as stack:
            pusher = build_pusher(settings, mappings, storage, stack, workers=max(1, workers), poll=poll)
            await pusher.run(stop)
    finally:
        await storage.aclose()
        if spans is not None:
            spans.shutdown()  # sends what is still buffered
    return 0


async def run_dlq_command(args: argparse.Namespace, settings: StorageSettings) -> int:
    redis_url = args.redis_url if args.redis_url is not None else settings.redis_url
    store = await open_storage(redis_url=redis_url or None, data_dir=args.data_dir or settings.data_dir)
    service = DeadLetterService(store.queue)
    try:
        match args.dlq_command:
            case "list":
                page = await service.page(after=args.after, limit=args.limit)
                for view in page.results:
                    print(_encoder.encode(view).decode())
                if page.next:
                    print(f"more: ctnm dlq list --after {page.next}", file=sys.stderr)
            case "show":
                letter = await service.get(args.id)
                print(_encoder.encode(view_of(letter)).decode())
                if args.payload:
                    print(letter.payload.decode("utf-8", "replace"))
            case "replay":
                for dead_letter_id in args.ids:
                    result = await service.replay(dead_letter_id)
                    print(f"replayed {result.dead_letter_id} as queue entry {result.entry_id}", file=sys.stderr)
            case _:
                raise AssertionError(args.dlq_command)
    finally:
        await store.aclose()
    return 0


def add_dlq_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    dlq = commands.add_parser("dlq", help="the status pusher's dead letters: list, show, replay")
    dlq.add_argument("--redis-url", default=None, help="use this Redis instead of REDIS_URL ('' = embedded)")
    dlq.add_argument("--data-dir", default=None, help="use this embedded data directory instead of GATEWAY_DATA_DIR")
    sub = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = sub.add_parser("list", help="dead letters as JSON lines, oldest first")
    listing.add_argument("--after", help="page on: the id the previous page ended with")
    listing.add_argument("--limit", type=int, default=100)
    show = sub.add_parser("show", help="one dead letter")
    show.add_argument("id")
    show.add_argument("--payload", action="store_true", help="also print the queued payload (ids and states only)")
    replay = sub.add_parser("replay", help="queue dead letters again (writes already done are not repeated)")
    replay.add_argument("ids", nargs="+")
    return dlq
