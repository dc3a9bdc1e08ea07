"""The command line protects the operator: refusals instead of silent surprises, a version, defaults in help,
and the adopter's files (licence, changelog, .env.example) kept true."""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec
import pytest

from app import __version__
from app.cli import main
from app.settings import CommercetoolsSettings, GatewaySettings, NovomindSettings, SettingsError, load_settings
from tests.support import REPO


def test_version_is_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == declared
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"ctnm {declared}"


@pytest.mark.parametrize("ttl", ["-5", "0", "abc"])
def test_a_token_that_is_born_expired_is_refused(
    ttl: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_JWT_SECRET", "x" * 32)
    with pytest.raises(SystemExit) as exit_:
        main(["token", "--ttl", ttl])
    assert exit_.value.code == 2
    assert "--ttl" in capsys.readouterr().err


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "--help"])
    assert "(default: 3600)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["links", "--data-dir", "{missing}", "list"],
        ["links", "list", "--data-dir", "{missing}"],
        ["links", "export", "--data-dir", "{missing}"],
        ["audit", "--data-dir", "{missing}"],
    ],
)
def test_a_missing_data_directory_is_refused_not_created(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    missing = tmp_path / "typo"
    code = main([a.replace("{missing}", str(missing)) for a in argv])
    assert code == 2
    assert "no such data directory" in capsys.readouterr().err
    assert not missing.exists()


def test_create_starts_an_empty_store_and_options_parse_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    fresh = tmp_path / "fresh"
    assert main(["links", "list", "--data-dir", str(fresh), "--create"]) == 0
    assert fresh.is_dir()
    assert main(["links", "list", "--data-dir", str(fresh)]) == 0


def test_env_example_names_every_variable_with_its_default() -> None:
    # Lines of an optional section are commented out (`#NOVOMIND_…=`): set, one asks for the whole section.
    lines = dict(
        line.removeprefix("#").split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if re.match(r"^#?[A-Z][A-Z0-9_]*=", line)
    )
    for cls in (CommercetoolsSettings, GatewaySettings, NovomindSettings):
        for field in msgspec.structs.fields(cls):
            name = cls.prefix + field.encode_name
            assert name in lines, name
            if field.default not in (msgspec.NODEFAULT, None):
                default = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
                assert lines[name] == default, name
    assert "REDIS_URL" in lines
    # Filled in with the required values, the example is a working configuration.
    filled = {k: v for k, v in lines.items() if v and not k.startswith("NOVOMIND_")} | {
        "CTP_PROJECT_KEY": "shop",
        "CTP_CLIENT_ID": "id",
        "CTP_CLIENT_SECRET": "secret",
        "CTP_AUTH_URL": "https://auth.example.com",
        "CTP_API_URL": "https://api.example.com",
        "GATEWAY_JWT_SECRET": "s" * 32,
    }
    assert load_settings(filled).novomind is None


def test_licence_and_changelog_are_there() -> None:
    assert "Apache License" in (REPO / "LICENSE").read_text()
    assert "Version 2.0" in (REPO / "LICENSE").read_text()
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(r"^## \[Unreleased\]", changelog, re.MULTILINE)


def test_configuration_errors_come_all_at_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith(("CTP_", "GATEWAY_", "NOVOMIND_"))]:
        monkeypatch.delenv(name)
    for name, value in {
        "CTP_PROJECT_KEY": "Not A Key",
        "CTP_AUTH_URL": "ftp://auth",
        "CTP_MAX_ATTEMPTS": "many",
        "CTP_FOO": "x",
        "GATEWAY_LOG_LEVEL": "verbose",
        "REDIS_URL": "localhost:6379",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    for variable in (
        "CTP_FOO",  # unknown
        "CTP_CLIENT_ID",  # missing
        "CTP_CLIENT_SECRET",
        "CTP_API_URL",
        "GATEWAY_JWT_SECRET",
        "REDIS_URL",
    ):
        assert variable in err, (variable, err)
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "CTP_PROJECT_KEY": "Not A Key",
                "CTP_CLIENT_ID": "i",
                "CTP_CLIENT_SECRET": "s",
                "CTP_AUTH_URL": "ftp://a",
                "CTP_API_URL": "https://api.example.com",
                "CTP_MAX_ATTEMPTS": "many",
                "GATEWAY_JWT_SECRET": "s" * 32,
                "GATEWAY_LOG_LEVEL": "verbose",
            }
        )
    lines = str(caught.value).splitlines()
    assert {line.split(":")[0] for line in lines} == {
        "CTP_PROJECT_KEY",
        "CTP_AUTH_URL",
        "CTP_MAX_ATTEMPTS",
        "GATEWAY_LOG_LEVEL",
    }
