"""Helpers for the Redis backend's own tests: throwaway servers, namespace clean-up, a fake clock."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

import redis
import redis.asyncio

REPO = Path(__file__).resolve().parents[3]


def new_namespace() -> str:
    return f"ctnm-redis-test-{uuid.uuid4().hex}"


async def wipe(url: str, namespace: str) -> None:
    """Delete every key of ``namespace`` (all of them start with it: see KeyScheme)."""
    client = redis.asyncio.Redis.from_url(url, socket_timeout=5)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` of this test's own on a loopback port: it can be stopped and started again on
    the same port, which the shared server must never be. No persistence, so a restart loses the data
    (as a crashed cache node without AOF would)."""

    def __init__(self, *, port: int | None = None, password: str | None = None) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "redis-server is not installed (see .ci/run)"
        self._executable = executable
        self.port = port or free_port()
        self._password = password
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        credentials = f":{self._password}@" if self._password else ""
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self._process is None, "already running"
        command = [self._executable, "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no"]
        if self._password:
            command += ["--requirepass", self._password]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"redis-server on port {self.port} did not start within 10 s")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill it (no shutdown handshake: clients see the connection drop, as in a crash)."""
        if self._process is None:
            return
        process, self._process = self._process, None
        process.kill()
        process.wait(timeout=10)

    def _answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


class FakeClock:
    """The storage ``clock``: moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
