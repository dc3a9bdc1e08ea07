"""``ctnm backfill --since DATE`` and ``ctnm reconcile``: the operator commands around the pusher.

Both open the pusher's store from the environment and queue into its queue; the pusher (``ctnm
push`` or ``ctnm serve`` with the embedded store) does the writes. Exit codes: 0 done, 1 some items
failed (listed) or the run stopped early (run it again to continue), 2 configuration.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Never

import msgspec
from tqdm import tqdm

from app.errors import GatewayError
from app.mapping.loader import load_mappings
from app.observability import configure_logging
from app.push.backfill import BackfillReport
from app.push.reconcile import ReconcileReport
from app.settings import load_settings
from app.storage.factory import open_storage

__all__ = ["add_backfill_parser", "add_reconcile_parser", "run_backfill", "run_reconcile", "since_instant"]

_encoder = msgspec.json.Encoder()


def since_instant(text: str) -> datetime:
    """``2026-11-27`` (midnight UTC) or an ISO 8601 instant with a zone; not in the future."""
    try:
        moment = (
            datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            if len(text) == 10
            else datetime.fromisoformat(text)
        )
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (2026-11-27) or an instant with a zone") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-27T10:00:00Z")
    if moment > datetime.now(UTC):
        raise argparse.ArgumentTypeError(f"{text} is in the future: there is nothing to bring up to date yet")
    return moment.astimezone(UTC)


class _Bar:
    """A tqdm bar on stderr, made once the total is known; none for pipes, CI logs or ``--quiet``."""

    def __init__(self, unit: str, label: str, *, quiet: bool) -> None:
        self._unit = unit
        self._label = label
        self._enabled = not quiet and sys.stderr.isatty()
        self._bar: tqdm[Never] | None = None

    def start(self, total: int | None, label: str | None = None) -> None:
        self._bar = tqdm(
            total=total, unit=self._unit, desc=label or self._label, file=sys.stderr, disable=not self._enabled
        )

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextmanager
def _bar(unit: str, label: str, *, quiet: bool) -> Iterator[_Bar]:
    bar = _Bar(unit, label, quiet=quiet)
    try:
        yield bar
    finally:
        bar.close()


async def run_backfill(environ: Mapping[str, str], args: argparse.Namespace) -> int:
    from app.asgi import build_backfill  # the composition root wires it, as it does the pusher

    settings = load_settings(environ)
    configure_logging(settings.gateway.log_level)
    mappings = load_mappings(Path(settings.gateway.mappings_dir))
    storage = await open_storage(redis_url=settings.redis_url, data_dir=settings.gateway.data_dir)
    try:
        async with AsyncExitStack() as stack:
            backfill = build_backfill(settings, mappings, storage, stack)
            with _bar(" items", "backfill", quiet=args.quiet) as bar:

                def started(source: str, total: int | None) -> None:
                    bar.start(total, f"backfill ({source})")

                try:
                    report = await backfill.run(
                        args.since,
                        source=args.source,
                        restart=args.restart,
                        limit=args.limit,
                        progress=bar.advance,
                        started=started,
                    )
                except GatewayError as exc:
                    print(
                        f"ctnm: backfill stopped: {exc.detail}; run the same command again to continue", file=sys.stderr
                    )
                    return 1
    finally:
        await storage.aclose()
    return _backfill_summary(report, print_line=lambda line: print(line, file=sys.stderr))


def _backfill_summary(report: BackfillReport, *, print_line: Callable[[str], None]) -> int:
    for message_id in report.undecodable:
        print_line(f"not queued: message {message_id} could not be decoded")
    what = "messages" if report.source == "messages" else "links"
    state = "complete" if report.complete else "stopped at --limit; run the same command again to continue"
    print_line(
        f"backfill from {report.source} (run {report.generation}{', resumed' if report.resumed else ''}): "
        f"{report.seen} {what} visited, {report.queued} events queued, {report.duplicates} already queued; {state}. "
        "The pusher writes them (ctnm push, or ctnm serve with the embedded store)."
    )
    return 1 if report.undecodable else 0


async def run_reconcile(environ: Mapping[str, str], args: argparse.Namespace) -> int:
    from app.asgi import build_reconciler

    settings = load_settings(environ)
    configure_logging(settings.gateway.log_level)
    mappings = load_mappings(Path(settings.gateway.mappings_dir))
    storage = await open_storage(redis_url=settings.redis_url, data_dir=settings.gateway.data_dir)
    try:
        async with AsyncExitStack() as stack:
            run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
            reconciler = build_reconciler(settings, mappings, storage, stack, run_id=run_id)
            if not reconciler.declared:
                raise ValueError(
                    f"{settings.gateway.mappings_dir}/push.toml: no write declares `read`; add "
                    '`read = "GET <path>"` to the storage write so that tickets can be compared'
                )
            with _bar(" links", "reconcile", quiet=args.quiet) as bar:
                try:
                    report = await reconciler.run(dry_run=args.dry_run, progress=bar.advance, started=bar.start)
                except GatewayError as exc:
                    print(f"ctnm: reconcile stopped: {exc.detail}", file=sys.stderr)
                    return 1
    finally:
        await storage.aclose()
    if args.json:
        print(_encoder.encode(report).decode())
    else:
        _print_reconcile(report)
    return 1 if report.unreachable else 0


def _print_reconcile(report: ReconcileReport) -> None:
    action = "would queue a repair" if report.dry_run else "repair queued"
    for drift in report.drifted:
        print(f"drifted: {drift.kind} {drift.reference} (order {drift.order_id}): {', '.join(drift.fields)}; {action}")
    for item in report.unreachable:
        print(f"unreachable: {item.kind} {item.reference} (order {item.order_id}): {item.reason}")
    repaired = (
        "nothing repaired (--dry-run)"
        if report.dry_run
        else f"{report.repairs_queued} orders queued for repair (the pusher writes them)"
    )
    print(
        f"checked {report.checked} tickets: {report.in_step} in step, {len(report.drifted)} drifted, "
        f"{len(report.unreachable)} unreachable; {repaired}"
    )


def add_backfill_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    backfill = commands.add_parser(
        "backfill",
        help="queue what brings every linked ticket up to date since a date (resumable)",
        description="From the Messages API while it still keeps messages back to --since, else by re-reading "
        "every linked order; through the pusher's queue. A stopped run continues where it stopped.",
    )
    backfill.add_argument("--since", type=since_instant, required=True, help="2026-11-27 (UTC) or an ISO instant")
    backfill.add_argument(
        "--source",
        choices=("auto", "messages", "orders"),
        default="auto",
        help="auto: messages when commercetools still keeps one from --since or earlier, else orders",
    )
    backfill.add_argument("--restart", action="store_true", help="start over instead of continuing a stopped run")
    backfill.add_argument("--limit", type=int, default=None, help="stop after this many items (run again to continue)")
    backfill.add_argument("--quiet", action="store_true", help="no progress bar")
    return backfill


def add_reconcile_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    reconcile = commands.add_parser(
        "reconcile",
        help="compare every linked ticket's stored order state with the order; queue repairs",
        description="Reads each linked ticket's fields with the read push.toml declares and compares them with "
        "its order's current state; a differing ticket's order is queued for repair. Field names only are "
        "reported, never values.",
    )
    reconcile.add_argument("--dry-run", action="store_true", help="report, queue nothing")
    reconcile.add_argument("--json", action="store_true", help="print the report as one JSON object")
    reconcile.add_argument("--quiet", action="store_true", help="no progress bar")
    return reconcile
