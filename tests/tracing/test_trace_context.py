"""W3C trace context: a caller's trace is continued into logs and upstream calls, a bad one replaced."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.observability import JsonFormatter, Parent, outgoing_traceparent, parse_traceparent, use_trace
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE}-00f067aa0ba902b7-01"  # the W3C specification's own example

HEX = "0123456789abcdef"


@given(
    trace=st.text(HEX, min_size=32, max_size=32),
    parent=st.text(HEX, min_size=16, max_size=16),
    flags=st.sampled_from(["00", "01", "03", "ff"]),
)
def test_a_valid_header_is_continued_and_its_sampled_flag_kept(trace: str, parent: str, flags: str) -> None:
    parsed = parse_traceparent(f"00-{trace}-{parent}-{flags}")
    if set(trace) == {"0"} or set(parent) == {"0"}:
        assert parsed is None  # all-zero ids are invalid by the specification
        return
    assert parsed == Parent(trace_id=trace, span_id=parent, sampled=int(flags, 16) & 1 == 1)
    context = use_trace(f"00-{trace}-{parent}-{flags}")
    child = outgoing_traceparent()
    version, child_trace, child_parent, child_flags = child.split("-")
    assert (version, child_trace, child_parent) == ("00", trace, context.span_id)
    assert child_parent != parent, "our span is a new one, the caller's is its parent"
    assert child_flags == ("01" if int(flags, 16) & 1 else "00")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"ff-{TRACE}-00f067aa0ba902b7-01",  # version ff is forbidden
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",  # upper-case hex is invalid
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE}-00f067aa0ba902b7-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE[:-1]}-00f067aa0ba902b7-01",
        f"00-{TRACE}-00f067aa0ba902b7-1",
    ],
)
def test_an_invalid_header_starts_a_new_trace(header: str) -> None:
    assert parse_traceparent(header) is None
    assert use_trace(header).trace_id != TRACE


def test_a_later_version_is_read_by_its_first_four_fields() -> None:
    assert parse_traceparent(f"01-{TRACE}-00f067aa0ba902b7-01-what-comes-later") == Parent(
        trace_id=TRACE, span_id="00f067aa0ba902b7", sampled=True
    )


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url))) as client:
        yield client


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[_Lines]:
    handler = _Lines()
    root = logging.getLogger("app")
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.integration
async def test_the_callers_trace_reaches_every_log_line_and_commercetools(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, log_lines: _Lines
) -> None:
    answer = await gateway.get(
        f"/v1/orders/{DEMO_ORDER_NUMBER}", headers={**auth(("orders:read",)), "traceparent": INCOMING}
    )
    assert answer.status_code == 200
    upstream = [r.traceparent for r in sandbox.state.requests if "/orders/" in r.path]
    assert upstream, "commercetools was called"
    assert all(t is not None and t.startswith(f"00-{TRACE}-") and t.endswith("-01") for t in upstream)
    assert all(t is not None and "00f067aa0ba902b7" not in t for t in upstream), "our span, not the caller's"
    request_lines = [line for line in log_lines.lines if line["event"] in ("request", "upstream.call")]
    assert {line["event"] for line in request_lines} == {"request", "upstream.call"}
    assert {line["traceId"] for line in request_lines} == {TRACE}


@pytest.mark.integration
async def test_a_request_without_a_trace_gets_a_new_one_of_its_own(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    # no-cache: each request reads commercetools itself, so each upstream call shows its request's trace.
    headers = {**auth(("orders:read",)), "Cache-Control": "no-cache"}
    for _ in range(2):
        assert (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=headers)).status_code == 200
    calls = [r.traceparent for r in sandbox.state.requests if "/orders/" in r.path]
    assert len(calls) == 2
    assert all(t is not None and parse_traceparent(t) is not None for t in calls)
    assert len({t.split("-")[1] for t in calls if t}) == 2, "two requests, two traces"
