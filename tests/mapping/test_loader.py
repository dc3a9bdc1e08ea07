"""Mapping files are validated at start-up; errors name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.mapping.loader import MappingError, load_mappings
from tests.support import MAPPINGS


def test_shipped_mappings_load() -> None:
    markets = load_mappings(MAPPINGS).markets
    assert {"de-store", "us-store", "jp-store"} <= set(markets.stores)


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "markets.toml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            '[default]\nlocale = "en-GB"\ncolour = 1\n',
            ["unknown key 'default.colour'", "fix: remove or rename", "time-zone"],
        ),
        (
            '[default]\nlocale = "en-GB"\n[stores.de-store]\nlocale = "de-DE"\ntimezone = "Europe/Berlin"\n',
            ["unknown key 'stores.de-store.timezone'", "allowed here: locale, fallback-locales, time-zone"],
        ),
        ('[stores.de-store]\nlocale = "de-DE"\n', ["missing key 'default'", "fix: add it"]),
        ('[default]\nlocale = "xx-QQ"\n', ["'default'", "unknown locale 'xx-QQ'"]),
        (
            '[default]\nlocale = "en-GB"\n[stores.jp]\nlocale = "ja-JP"\ntime-zone = "Mars/Olympus"\n',
            ["'stores.jp'", "unknown time zone 'Mars/Olympus'"],
        ),
        ("[default\n", ["not valid TOML"]),
    ],
)
def test_invalid_files_are_explained(tmp_path: Path, text: str, fragments: list[str]) -> None:
    with pytest.raises(MappingError) as caught:
        load_mappings(_write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "markets.toml"))
    for fragment in fragments:
        assert fragment in message


def test_missing_file_and_stray_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="file not found"):
        load_mappings(tmp_path)
    _write(tmp_path, '[default]\nlocale = "en-GB"\n')
    (tmp_path / "marketz.toml").write_text("", encoding="utf-8")
    with pytest.raises(MappingError, match=r"marketz\.toml: unknown mapping file"):
        load_mappings(tmp_path)
