"""Run ``@labdigital/commercetools-mock`` (tests/ctmock/server.mjs) as a child process and talk to it.

Only loopback is used: the Node harness binds 127.0.0.1 and picks a free port (``0``), then
prints ``ready <port>``; :class:`MockServer` reads that line from the child's stdout without
buffering (``select`` + ``os.read``), so a line already read by a Python file object can never be
missed. The child also watches its stdin: when this process dies the pipe closes and the server
exits, so no orphan survives a crashed test run.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import httpx

__all__ = ["HARNESS_DIR", "MockApi", "MockServer", "MockSetupError"]

HARNESS_DIR: Final = Path(__file__).resolve().parent
_READY = re.compile(r"^ready (?P<port>\d+)$", re.MULTILINE)
_PACKAGE = HARNESS_DIR / "node_modules" / "@labdigital" / "commercetools-mock" / "package.json"


class MockSetupError(Exception):
    """The mock cannot be started or seeded; the message says what to do."""


class MockServer:
    """``node server.mjs 0`` on 127.0.0.1; ``url`` is known once :meth:`start` returns."""

    def __init__(self, *, ready_timeout: float = 30.0) -> None:
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self.output = ""
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the mock has not been started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not _PACKAGE.is_file():
            raise MockSetupError(
                "@labdigital/commercetools-mock is not installed in tests/ctmock/node_modules; "
                "run: npm ci --prefix tests/ctmock --no-audit --no-fund"
            )
        node = shutil.which("node")
        if node is None:
            raise MockSetupError("Node.js (20 or newer) is needed for tests/ctmock; `node` is not on PATH")
        self._process = subprocess.Popen(
            [node, str(HARNESS_DIR / "server.mjs"), "0"],
            cwd=HARNESS_DIR,
            stdin=subprocess.PIPE,  # closed by stop(), or by the OS if this process dies
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.port = int(self._wait_for_ready()["port"])

    def _wait_for_ready(self) -> re.Match[str]:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        fd = process.stdout.fileno()
        deadline = time.monotonic() + self._ready_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if match := _READY.search(self.output):
                return match
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:  # EOF: the server exited before it was ready
                    break
                self.output += chunk.decode(errors="replace")
        if match := _READY.search(self.output):
            return match
        state = f"exited with {process.poll()}" if process.poll() is not None else "still starting"
        raise MockSetupError(
            f"commercetools-mock did not print 'ready <port>' within {self._ready_timeout:.0f} s ({state}); "
            f"output:\n{self.output}"
        )

    def stop(self) -> None:
        """Close stdin (the server exits on EOF), then SIGTERM, then SIGKILL; every wait is bounded."""
        process = self._process
        if process is None:
            return
        self._process = None
        try:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        finally:
            if process.stdout is not None:
                process.stdout.close()


class MockApi:
    """A synchronous commercetools API client for seeding and raw reads (client credentials, Basic auth)."""

    def __init__(self, base_url: str, project_key: str, client_id: str, client_secret: str) -> None:
        self.project_key = project_key
        self._http = httpx.Client(base_url=base_url, timeout=10.0)
        try:
            token = self._http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": f"manage_project:{project_key}"},
                auth=(client_id, client_secret),
            )
            self._check(token, "POST /oauth/token")
        except BaseException:
            self._http.close()
            raise
        self._http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MockApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _check(response: httpx.Response, what: str) -> None:
        if response.status_code >= 300:
            raise MockSetupError(f"{what} -> HTTP {response.status_code}: {response.text[:2000]}")

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        response = self.get_raw(path, params)
        self._check(response, f"GET {path}")
        return response.json()

    def get_raw(self, path: str, params: Sequence[tuple[str, str]] = ()) -> httpx.Response:
        return self._http.get(f"/{self.project_key}{path}", params=tuple(params))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(f"/{self.project_key}{path}", json=body)
        self._check(response, f"POST {path}")
        return response.json()

    def update(self, collection: str, resource: dict[str, Any], *actions: dict[str, Any]) -> Any:
        """Apply update actions at the resource's current version; returns the updated resource."""
        return self.post(f"/{collection}/{resource['id']}", {"version": resource["version"], "actions": list(actions)})
