"""Mapping files are validated at start-up; errors name the file, the key and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.mapping.loader import FILES, MappingError, load_mappings
from tests.support import MAPPINGS


def test_shipped_mappings_load() -> None:
    markets = load_mappings(MAPPINGS).markets
    assert {"de-store", "us-store", "jp-store"} <= set(markets.stores)


def _write(tmp_path: Path, text: str, name: str = "markets.toml") -> Path:
    for other in FILES:
        shutil.copy(MAPPINGS / other, tmp_path / other)
    (tmp_path / name).write_text(text, encoding="utf-8")
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
    (tmp_path / "carriers.toml").unlink()
    with pytest.raises(MappingError, match=r"carriers\.toml: file not found"):
        load_mappings(tmp_path)
    _write(tmp_path, '[default]\nlocale = "en-GB"\n')
    (tmp_path / "marketz.toml").write_text("", encoding="utf-8")
    with pytest.raises(MappingError, match=r"marketz\.toml: unknown mapping file"):
        load_mappings(tmp_path)


@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        (
            "carriers.toml",
            '[carriers.DHL]\ntracking-url = "http://dhl.example/{trackingId}"\n',
            ["'carriers.DHL'", "https://"],
        ),
        ("carriers.toml", '[carriers.DHL]\ntracking-url = "https://dhl.example/{id}"\n', ["{trackingId} exactly once"]),
        (
            "carriers.toml",
            '[carriers.DHL]\ntracking-url = "https://dhl.example/{trackingId}"\nalias = ["x"]\n',
            ["unknown key 'carriers.DHL.alias'", "allowed here: tracking-url, aliases"],
        ),
        ("custom-fields.toml", "[order.giftMessage]\nlabel = {}\n", ["'order.giftMessage'", "at least one language"]),
        (
            "custom-fields.toml",
            '[order.giftMessage]\nlabel = { en = "Gift" }\npersonnal = true\n',
            ["unknown key 'order.giftMessage.personnal'", "label, stores, personal"],
        ),
        (
            "custom-fields.toml",
            '[orders.giftMessage]\nlabel = { en = "Gift" }\n',
            ["unknown key 'orders'", "allowed here: order, customer"],
        ),
    ],
)
def test_other_files_are_validated_too(tmp_path: Path, name: str, text: str, fragments: list[str]) -> None:
    with pytest.raises(MappingError) as caught:
        load_mappings(_write(tmp_path, text, name))
    message = str(caught.value)
    assert message.startswith(str(tmp_path / name))
    for fragment in fragments:
        assert fragment in message
