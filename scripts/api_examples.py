"""Record (or --check) openapi/examples.json and the worked examples in docs/http-api.md.

See tests/examples/recorder.py: the examples run against the real app over the seeded sandbox.
Recording also rewrites openapi/openapi.json, which embeds them (as `ctnm openapi` does).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.api.examples import load_examples
from app.cli import OPENAPI_PATH
from app.openapi import render_openapi
from tests.examples.recorder import REPO, out_of_date, run_examples, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a committed file differs")
    args = parser.parse_args(argv)
    records = asyncio.run(run_examples())
    if args.check:
        stale = out_of_date(records)
        for path in stale:
            print(f"{path} is out of date; run scripts/api_examples.py and commit the result", file=sys.stderr)
        return 1 if stale else 0
    write(records)
    load_examples.cache_clear()
    (REPO / OPENAPI_PATH).write_bytes(render_openapi())
    return 0


if __name__ == "__main__":
    sys.exit(main())
