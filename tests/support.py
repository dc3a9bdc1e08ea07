"""Shared test helpers (not fixtures): paths, settings builders, token minting, loopback servers."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar.types import ASGIApp

from app.access import mint_token
from app.http_server import OneWritePerTurnProtocol
from app.settings import CommercetoolsSettings, GatewaySettings, Secret, Settings
from app.storage.ports import QueueStats

REPO = Path(__file__).resolve().parents[1]
# Official commercetools example payloads, copied into the repository (see its README).
FIXTURES = REPO / "tests" / "fixtures" / "commercetools"
MAPPINGS = REPO / "mappings"

JWT_SECRET = "test-only-secret-0123456789abcdefghijkl"
# Every app a test builds gets its own embedded store below one scratch directory, removed at exit.
_SCRATCH = Path(tempfile.mkdtemp(prefix="ctnm-tests-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
ISSUER = "ctnm"
AUDIENCE = "ct-novomind-gateway"


def settings_for(
    ct_url: str,
    *,
    project_key: str = "demo",
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",
    deadline_seconds: float = 8.0,
    max_attempts: int = 4,
    data_dir: str | None = None,
    redis_url: str | None = None,
) -> Settings:
    return Settings(
        commercetools=CommercetoolsSettings(
            project_key=project_key,
            client_id=client_id,
            client_secret=Secret(client_secret),
            auth_url=ct_url,
            api_url=ct_url,
            deadline_seconds=deadline_seconds,
            max_attempts=max_attempts,
            backoff_base_seconds=0.01,
            backoff_cap_seconds=0.05,
        ),
        # A fresh embedded store per app: tests never share state through ./data.
        gateway=GatewaySettings(
            jwt_secret=Secret(JWT_SECRET),
            mappings_dir=str(MAPPINGS),
            data_dir=data_dir or tempfile.mkdtemp(dir=_SCRATCH),
            # Wall-clock windows would make tests that send many requests depend on the machine's
            # speed; tests/limits turns them on against a clock or window it controls.
            rate_limits=False,
        ),
        redis_url=redis_url,
    )


def token(
    scopes: Iterable[str] = ("orders:read",), stores: Iterable[str] = ("*",), ttl: int = 600, subject: str = "agent-7"
) -> str:
    return mint_token(
        JWT_SECRET, issuer=ISSUER, audience=AUDIENCE, subject=subject, scopes=scopes, stores=stores, ttl_seconds=ttl
    )


def auth(scopes: Iterable[str] = ("orders:read",), stores: Iterable[str] = ("*",)) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(scopes, stores)}"}


class ThreadedServer:
    """uvicorn serving an ASGI app on a loopback port from a daemon thread with its own loop, on the
    HTTP protocol the gateway serves with (:class:`~app.http_server.OneWritePerTurnProtocol`).

    A thread (not the test's event loop) lets one server outlive many async tests; uvicorn
    installs no signal handlers outside the main thread.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", http=OneWritePerTurnProtocol)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("loopback server did not start within 15 s")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisProcess:
    """A throwaway redis-server on a loopback port that a test can stop and start again (outages)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable, "redis-server is not installed (see .ci/run)"
        self._process = subprocess.Popen(
            [executable, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("redis-server did not start within 10 s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


async def read_http_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request from a scripted loopback server's connection: (head, body by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


def self_signed_certificate(directory: Path, names: list[x509.GeneralName]) -> tuple[Path, Path]:
    """A self-signed CA certificate for ``names`` and its key, as PEM files in ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def queue_counts(stats: QueueStats) -> QueueStats:
    """The counts of ``stats`` only, for comparing with a QueueStats literal (the oldest entry's time
    depends on the clock the store was opened with)."""
    return msgspec.structs.replace(stats, oldest_enqueued_at=None)
