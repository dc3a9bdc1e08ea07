"""The repository stands on its own: nothing in it reads or links a path beside the clone.

A fresh clone has no sibling folders; a test, script, Makefile target or document that points at
one works only on the machine it was written on.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Built from parts so this file does not match itself.
_OUTSIDE = re.compile("|".join([r"\.\./" + "shared", r"parent\s*/\s*[\"']" + "shared"]))


def _tracked_files() -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git on PATH
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    return [REPO / name for name in listing.decode().split("\0") if name]


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if _OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}")
    assert offenders == [], f"these lines point outside the repository: {offenders}"


def test_the_pattern_catches_what_it_guards_against() -> None:
    assert _OUTSIDE.search("see " + "../" + "shared/DESIGN.md")
    assert _OUTSIDE.search("FIXTURES = REPO.parent / " + '"shared" / "fixtures"')
    assert not _OUTSIDE.search("tests/fixtures/commercetools")
