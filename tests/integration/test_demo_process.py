"""`ctnm demo` as a real process: it prints a working curl, serves it, and stops on Ctrl-C."""

from __future__ import annotations

import html
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from app.demo import DEMO_WIDGET_SECRET
from app.widget.context import verify
from tests.support import REPO

pytestmark = pytest.mark.integration
SIMULATE = re.compile(r"-d '(?P<body>\[[^']+\])' \\\s+(?P<url>http://127\.0\.0\.1:\d+/__sandbox/orders/\S+/messages)")
EVENTS = re.compile(
    r'Bearer (?P<secret>[^"]+)" --data-binary @- \\\s+(?P<url>http://127\.0\.0\.1:\d+/v1/events/commercetools)'
)
MEMOS = re.compile(r"curl -s (?P<url>http://127\.0\.0\.1:\d+/__sim/memos)")
WIDGET = re.compile(
    r"GATEWAY_JWT_SECRET=(?P<jwt>\S+) GATEWAY_WIDGET_SECRET=(?P<widget>\S+)\s+ctnm widget-url (?P<args>[^\n]+)"
)
CURL = re.compile(r'curl -s -H "Authorization: Bearer (?P<token>[^"]+)" (?P<url>http://127\.0\.0\.1:\d+/v1/orders/\S+)')


class Output:
    """Unbuffered reads of a child's stdout: select() cannot see data already in a file object's buffer."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._process = process
        self.fd = process.stdout.fileno()
        self.text = ""

    def wait_for(self, pattern: re.Pattern[str], seconds: float) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if match := pattern.search(self.text):
                return match
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                self.text += chunk.decode()
        raise AssertionError(f"demo did not print {pattern.pattern!r} within {seconds} s; output:\n{self.text}")


ADMIN = re.compile(
    r'curl -s -H "Authorization: Bearer (?P<token>[^"]+)" (?P<url>http://127\.0\.0\.1:\d+/v1/dead-letters)'
)
SECRET_LINE = re.compile(r"export GATEWAY_JWT_SECRET=(?P<secret>\S+)")
DESK = re.compile(r"(?P<url>http://127\.0\.0\.1:\d+/__sim/desk/(?P<ticket>\d+))")


def test_demo_prints_a_curl_that_works_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CTP_", "GATEWAY_", "NOVOMIND_"))}
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", "0", "--data-dir", str(data_dir)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = Output(process)
    try:
        match = output.wait_for(CURL, seconds=60)
        output.wait_for(re.compile("Press Ctrl-C to stop"), seconds=60)
        response = httpx.get(match["url"], headers={"Authorization": f"Bearer {match['token']}"}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["locale"] == "de-DE"
        _status_push_as_printed(output.text)
        _the_desk_as_printed(output.text, match["url"])
        _the_guide_as_printed(output.text, data_dir)
        _the_widget_link_as_printed(output.text)
        output.wait_for(re.compile(r'"app\.access"[^\n]*"status": ?200'), seconds=10)  # the access log is on
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert "demo stopped" in output.text + os.read(output.fd, 65536).decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _the_guide_as_printed(text: str, data_dir: Path) -> None:
    """The operator token it mentions works, `ctnm token` with the printed secret mints an accepted
    token, and the demo's store is where it says, for `ctnm links` to read."""
    admin = ADMIN.search(text)
    assert admin, text
    answer = httpx.get(admin["url"], headers={"Authorization": f"Bearer {admin['token']}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    secret = SECRET_LINE.search(text)
    assert secret, text
    minted = subprocess.run(
        [sys.executable, "-m", "app", "token", "--scope", "orders:read"],
        env={**os.environ, "GATEWAY_JWT_SECRET": secret["secret"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    order = CURL.search(text)
    assert order
    assert httpx.get(order["url"], headers={"Authorization": f"Bearer {minted}"}, timeout=10).status_code == 200
    assert (data_dir / "gateway.sqlite3").is_file()


def _the_desk_as_printed(text: str, order_url: str) -> None:
    """The sandbox desk page: the seeded ticket with the memo the pusher just wrote, CSP-clean, and an
    iframe of the widget whose link verifies and which the gateway serves for framing by the desk."""
    desk = DESK.search(text)
    assert desk, text
    page = httpx.get(desk["url"], timeout=10)
    assert page.status_code == 200, page.text
    desk_csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in desk_csp
    assert "script-src" not in desk_csp
    assert "unsafe-inline" not in desk_csp
    assert "<script" not in page.text
    assert "Wo bleibt meine Bestellung DE-100001?" in page.text
    assert "zugestellt" in page.text, "the memo the status push wrote is on the ticket"
    frames = re.findall(r'<iframe [^>]*src="([^"]+)"', page.text)
    assert len(frames) == 1, page.text
    widget_url = html.unescape(frames[0])
    gateway = urlsplit(order_url)
    parts = urlsplit(widget_url)
    assert (parts.scheme, parts.netloc, parts.path) == (gateway.scheme, gateway.netloc, "/widget")
    context = verify(parse_qsl(parts.query), secret=DEMO_WIDGET_SECRET, now=time.time(), max_ttl_seconds=3600)
    assert context.ticket_id == f"T-{desk['ticket']}"
    desk_origin = f"{urlsplit(desk['url']).scheme}://{urlsplit(desk['url']).netloc}"
    assert f"frame-src {gateway.scheme}://{gateway.netloc}" in desk_csp
    widget = httpx.get(
        widget_url, headers={"Sec-Fetch-Dest": "iframe", "Referer": desk["url"], "Origin": desk_origin}, timeout=10
    )
    assert widget.status_code == 200, widget.text
    assert f"frame-ancestors {desk_origin}" in widget.headers["content-security-policy"]


def _status_push_as_printed(text: str) -> None:
    """The printed status-push recipe, step by step: change the order, deliver its message, see the memo."""
    simulate, events, memos = SIMULATE.search(text), EVENTS.search(text), MEMOS.search(text)
    assert simulate, text
    assert events, text
    assert memos, text
    created = httpx.post(simulate["url"], content=simulate["body"], timeout=10)
    assert created.status_code == 201, created.text
    delivered = httpx.post(
        events["url"],
        content=json.dumps(created.json()[0]),
        headers={"Authorization": f"Bearer {events['secret']}"},
        timeout=10,
    )
    assert delivered.status_code == 202, delivered.text
    # Another process's pusher writes the memo; polling is the only way to see it. The bound only
    # fails a pusher that never writes: on an idle machine the memo is there within a second.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = [memo["text"] for memo in httpx.get(memos["url"], timeout=10).json()]
        if texts:
            assert "DE-100001" in texts[0]
            assert "zugestellt" in texts[0]  # German memo: the state in words, not its code
            return
        time.sleep(0.2)
    raise AssertionError("the in-process pusher wrote no memo within 60 s")


def _the_widget_link_as_printed(text: str) -> None:
    """The printed `ctnm widget-url` command, run as printed, signs a link the demo's gateway opens."""
    printed = WIDGET.search(text.replace("\\\n", " "))
    assert printed, text
    link = subprocess.run(
        [sys.executable, "-m", "app", "widget-url", *shlex.split(printed["args"])],
        env={**os.environ, "GATEWAY_JWT_SECRET": printed["jwt"], "GATEWAY_WIDGET_SECRET": printed["widget"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    page = httpx.get(link, timeout=10)
    assert page.status_code == 200, page.text
    assert 'data-lookup="ticketId=T-100042' in page.text
