"""mappings/widget.toml and `ctnm widget-url`."""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path

import pytest

from app.cli import main
from app.mapping.loader import MappingError, load_mappings
from app.widget.context import verify

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SECRET = "w" * 40


def test_default_roles() -> None:
    roles = load_mappings(MAPPINGS).widget.roles
    assert set(roles["agent"].scopes) == {"orders:read", "customers:read", "links:write"}
    assert set(roles["supervisor"].scopes) == set(roles["agent"].scopes) | {"pii:read", "audit:read"}
    assert roles["agent"].stores is None
    assert roles["supervisor"].stores is None


def test_an_unknown_key_names_file_key_and_fix(tmp_path: Path) -> None:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    (directory / "widget.toml").write_text('[roles.agent]\nscopes = ["orders:read"]\nstore = ["de"]\n')
    with pytest.raises(MappingError, match=r"widget\.toml: unknown key 'roles\.agent\.store'; fix: .*stores"):
        load_mappings(directory)


def test_widget_url_prints_a_link_that_verifies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_JWT_SECRET", "j" * 40)
    monkeypatch.setenv("GATEWAY_WIDGET_SECRET", SECRET)
    code = main(
        ["widget-url", "--agent-id", "a-1", "--ticket-id", "4711", "--locale", "de-DE", "--base-url", "http://gw"]
    )
    assert code == 0
    url = urllib.parse.urlsplit(capsys.readouterr().out.strip())
    assert (url.netloc, url.path) == ("gw", "/widget")
    pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    exp = int(dict(pairs)["exp"])
    context = verify(pairs, secret=SECRET, now=exp - 1, max_ttl_seconds=3600)
    assert (context.agent_id, context.role, context.ticket_id, context.locale) == ("a-1", "agent", "4711", "de-DE")


def test_widget_url_needs_the_secret_and_a_subject(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_JWT_SECRET", "j" * 40)
    monkeypatch.delenv("GATEWAY_WIDGET_SECRET", raising=False)
    assert main(["widget-url", "--agent-id", "a-1", "--ticket-id", "1"]) == 2
    assert "GATEWAY_WIDGET_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("GATEWAY_WIDGET_SECRET", SECRET)
    assert main(["widget-url", "--agent-id", "a-1"]) == 2
    assert "at least one" in capsys.readouterr().err
