"""Operator commands on stored data: ``ctnm links list|export|import`` and ``ctnm audit``.

They open the storage backend the environment chooses (``REDIS_URL``, else the SQLite file in
``GATEWAY_DATA_DIR``), or the one ``--redis-url``/``--data-dir`` name, so moving from the embedded
backend to Redis is an export with one setting and an import with the other.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Never

import msgspec
from tqdm import tqdm

from app.mapping.loader import load_mappings
from app.settings import StorageSettings
from app.storage.factory import open_storage
from app.storage.transfer import export_links, import_links, validate_lines

__all__ = ["add_audit_parser", "add_links_parser", "run_audit_command", "run_links_command"]

_encoder = msgspec.json.Encoder()


def _bar(total: int | None, label: str) -> tqdm[Never]:
    # Only for a person watching: no bar in pipes and CI logs, the summary line says it all there.
    return tqdm(total=total, unit=" links", desc=label, file=sys.stderr, disable=not sys.stderr.isatty())


def _advance(bar: tqdm[Never]) -> Callable[[int], None]:
    def advance(count: int) -> None:
        bar.update(count)

    return advance


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle


async def run_links_command(args: argparse.Namespace, settings: StorageSettings) -> int:
    redis_url = args.redis_url if args.redis_url is not None else settings.redis_url
    data_dir = args.data_dir or settings.data_dir
    store = await open_storage(redis_url=redis_url or None, data_dir=data_dir)
    where = "redis" if redis_url else f"sqlite in {data_dir}"
    try:
        match args.links_command:
            case "list":
                for link in await store.links.scan(limit=args.limit):
                    print(_encoder.encode(link).decode())
                return 0
            case "export":
                total = await store.links.count()
                with _bar(total, "export") as bar, contextlib.ExitStack() as files:
                    # A one-shot operator command: nothing else runs on this loop, blocking file I/O is fine.
                    out: IO[bytes] = (
                        sys.stdout.buffer if args.output == "-" else files.enter_context(Path(args.output).open("wb"))  # noqa: ASYNC230
                    )
                    count = await export_links(store.links, out, on_progress=_advance(bar))
                print(f"exported {count} links from {where}", file=sys.stderr)
                return 0
            case "import":
                kinds = load_mappings(Path(settings.mappings_dir)).links.kinds
                patterns = {kind: re.compile(rule.pattern) for kind, rule in kinds.items()}
                path = Path(args.input)
                valid, invalid = validate_lines(_lines(path), patterns)
                if invalid:
                    for problem in invalid:
                        print(f"{path}:{problem.line}: {problem.problem}", file=sys.stderr)
                    print(f"nothing imported: {path} has invalid lines", file=sys.stderr)
                    return 1
                with _bar(valid, "import") as bar:
                    report = await import_links(store.links, _lines(path), patterns, on_progress=_advance(bar))
                print(
                    f"imported {report.read} links into {where} ({report.changed} written, "
                    f"{report.read - report.changed} already there)",
                    file=sys.stderr,
                )
                return 0
            case _:
                raise AssertionError(args.links_command)
    finally:
        await store.aclose()


def add_links_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    links = commands.add_parser("links", help="list, export or import stored links (JSON lines)")
    storage_options(links)
    sub = links.add_subparsers(dest="links_command", required=True)
    listing = sub.add_parser("list", help="print the first links as JSON lines")
    listing.add_argument("--limit", type=int, default=100)
    export = sub.add_parser("export", help="write every link as JSON lines")
    export.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")
    importing = sub.add_parser("import", help="validate a JSON-lines file, then put every link (idempotent)")
    importing.add_argument("input", help="file written by `ctnm links export`")
    for command in (listing, export, importing):
        # The same options after the subcommand (`ctnm links list --data-dir DIR`), as the README writes it.
        storage_options(command, after_subcommand=True)
    return links


def storage_options(parser: argparse.ArgumentParser, *, after_subcommand: bool = False) -> None:
    """Where the stored data is; given after a subcommand they override nothing unless present."""
    default = argparse.SUPPRESS if after_subcommand else None
    parser.add_argument("--redis-url", default=default, help="use this Redis instead of REDIS_URL ('' = embedded)")
    parser.add_argument(
        "--data-dir", default=default, help="use this embedded data directory instead of GATEWAY_DATA_DIR"
    )
    parser.add_argument(
        "--create",
        action="store_true",
        default=argparse.SUPPRESS if after_subcommand else False,
        help="start an empty embedded store if the data directory does not exist (refused otherwise)",
    )


async def run_audit_command(args: argparse.Namespace, settings: StorageSettings) -> int:
    redis_url = args.redis_url if args.redis_url is not None else settings.redis_url
    store = await open_storage(redis_url=redis_url or None, data_dir=args.data_dir or settings.data_dir)
    try:
        records = await store.audit.query(
            subject=args.subject,
            resource_type=args.resource_type,
            resource_id=args.resource_id,
            since=args.since,
            until=args.until,
            limit=args.limit,
            before=args.before,
        )
    finally:
        await store.aclose()
    for record in records:
        print(_encoder.encode(record).decode())
    return 0


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-27T10:00:00Z")
    return value


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    audit = commands.add_parser("audit", help="who read which personal fields (JSON lines, newest first)")
    storage_options(audit)
    audit.add_argument("--subject", help="the caller's sub")
    audit.add_argument("--resource-type", help="order, customer, lookup, ...")
    audit.add_argument("--resource-id")
    audit.add_argument("--since", type=_instant, help="ISO 8601 with zone; inclusive")
    audit.add_argument("--until", type=_instant, help="ISO 8601 with zone; exclusive")
    audit.add_argument("--before", help="page further back: the id of the last record seen")
    audit.add_argument("--limit", type=int, default=100)
    return audit
