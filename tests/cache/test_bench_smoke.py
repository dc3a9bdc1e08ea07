"""The speed suite runs end to end (tiny numbers, built-in load generator): a smoke test, not a benchmark.

Only what does not depend on the machine's speed is asserted: every phase ran and answered, the
stampede made one upstream read, a cold read one per view, and the outage produced no error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.integration


def test_bench_reads_smoke(tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_reads.py"), "--smoke", "--no-wrk", "--json", str(report_file)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    report = json.loads(report_file.read_text())
    assert report["hit"]["non_2xx"] == 0
    assert report["hit"]["hit_rps"] > 0
    assert report["hit"]["static_rps"] > 0
    assert report["stampede"] == {"reads": 20, "ok": 20, "upstream_reads": 1}
    assert report["cold"]["upstream_calls_per_view"] == 1.0
    assert report["outage"]["errors"] == 0
    assert report["outage"]["answers"] > 0
    assert report["memory"]["views"] == 500
