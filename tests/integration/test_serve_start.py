"""`ctnm serve` tries the commercetools credentials before it listens: wrong ones stop it with a clear line."""

from __future__ import annotations

import pytest

from app.cli import main
from tests.conftest import SandboxHandle
from tests.support import JWT_SECRET, MAPPINGS

pytestmark = pytest.mark.integration


def test_wrong_credentials_stop_serve_with_a_clear_message(
    sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "CTP_PROJECT_KEY": "demo",
        "CTP_CLIENT_ID": "sandbox-client",
        "CTP_CLIENT_SECRET": "not-the-sandbox-secret",
        "CTP_AUTH_URL": sandbox.url,
        "CTP_API_URL": sandbox.url,
        "GATEWAY_JWT_SECRET": JWT_SECRET,
        "GATEWAY_MAPPINGS_DIR": str(MAPPINGS),
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "did not give the gateway a token" in err
    assert "CTP_CLIENT_SECRET" in err
    assert "--allow-degraded-start" in err
    assert "not-the-sandbox-secret" not in err
