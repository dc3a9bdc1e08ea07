"""/metrics: what is counted, where it is served, and that no label ever carries an id or personal data."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from app.asgi import create_app
from app.metrics import REGISTRY, exposition, serve_metrics, status_class
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER
from tests.conftest import SandboxHandle
from tests.support import JWT_SECRET, MAPPINGS, auth, free_port, settings_for

REPO = Path(__file__).resolve().parents[2]
READ = ("orders:read", "customers:read")


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def _public(sandbox_url: str) -> Litestar:
    settings = settings_for(sandbox_url)
    return create_app(
        msgspec.structs.replace(settings, gateway=msgspec.structs.replace(settings.gateway, metrics_public=True))
    )


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(_public(sandbox.url)) as client:
        yield client


@pytest.mark.integration
async def test_requests_upstream_calls_and_cache_outcomes_are_counted_by_template(
    gateway: AsyncTestClient[Litestar],
) -> None:
    route = (("method", "GET"), ("route", "/v1/orders/{orderNumber}"), ("status", "2xx"))
    before = _samples(exposition().decode(), "ctnm_http_requests_total").get(route, 0.0)
    cache_before = _samples(exposition().decode(), "ctnm_cache_events_total")
    for _ in range(3):
        assert (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(READ))).status_code == 200
    assert (await gateway.get("/v1/orders/NO-SUCH-ORDER", headers=auth(READ))).status_code == 404

    scraped = await gateway.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert _samples(text, "ctnm_http_requests_total")[route] == before + 3
    missing = (("method", "GET"), ("route", "/v1/orders/{orderNumber}"), ("status", "4xx"))
    assert _samples(text, "ctnm_http_requests_total")[missing] >= 1
    upstream = _samples(text, "ctnm_upstream_calls_total")
    assert (
        upstream[(("operation", "/orders/order-number={orderNumber}"), ("status", "2xx"), ("system", "commercetools"))]
        >= 1
    )
    cache = _samples(text, "ctnm_cache_events_total")
    assert cache[(("outcome", "hit"),)] - cache_before.get((("outcome", "hit"),), 0.0) >= 2
    assert _samples(text, "ctnm_upstream_token_fetches_total")[(("outcome", "ok"), ("system", "commercetools"))] >= 1
    assert DEMO_ORDER_NUMBER not in text


async def test_metrics_are_not_on_the_main_port_unless_made_public() -> None:
    app = create_app(
        settings_for("http://ct.test"), commercetools_transport=httpx.MockTransport(lambda _: httpx.Response(503))
    )
    async with AsyncTestClient(app) as client:
        assert (await client.get("/metrics")).status_code == 404


_ids = st.one_of(
    st.emails(),
    st.from_regex(r"[A-Z]{2}-[0-9]{4,8}", fullmatch=True),
    st.uuids().map(str),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_ids)
async def test_no_label_carries_what_a_caller_sent(gateway: AsyncTestClient[Litestar], value: str) -> None:
    # Order numbers, emails and ids in paths and queries never become label values: routes are
    # templates and unmatched paths one "?" series, so the exposition cannot grow per id either.
    await gateway.get(f"/v1/orders/{value}", headers=auth(READ))
    await gateway.get("/v1/orders", params={"email": value}, headers=auth(READ))
    await gateway.get(f"/no/such/{value}")
    text = exposition().decode()
    assert value not in text
    routes = {dict(labels)["route"] for labels in _samples(text, "ctnm_http_requests_total")}
    assert "?" in routes  # the unmatched path, as one series
    assert all(value not in route for route in routes)


def test_status_classes() -> None:
    assert [status_class(s) for s in (200, 204, 304, 404, 429, 503, 0, None)] == [
        "2xx", "2xx", "3xx", "4xx", "4xx", "5xx", "error", "error",
    ]  # fmt: skip


def test_the_metrics_port_serves_the_same_exposition() -> None:
    server, thread = serve_metrics("127.0.0.1", 0)
    try:
        port = server.server_port
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert answer.status_code == 200
        assert "# TYPE ctnm_http_requests_total counter" in answer.text
        assert "# TYPE ctnm_push_end_to_end_seconds histogram" in answer.text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.integration
def test_serve_with_two_workers_merges_their_counts_on_the_metrics_port(sandbox: SandboxHandle, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "CTP_PROJECT_KEY": "demo",
        "CTP_CLIENT_ID": "sandbox-client",
        "CTP_CLIENT_SECRET": "sandbox-secret",
        "CTP_AUTH_URL": sandbox.url,
        "CTP_API_URL": sandbox.url,
        "GATEWAY_JWT_SECRET": JWT_SECRET,
        "GATEWAY_MAPPINGS_DIR": str(MAPPINGS),
        "GATEWAY_DATA_DIR": str(tmp_path),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "app", "serve", "--workers", "2", "--no-push", "--port", str(port)]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([*command, "--metrics-port", str(metrics_port)], env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(f"{base}/healthz", process)
        requests = 40
        with httpx.Client(base_url=base, headers=auth(READ), timeout=20) as client:
            for _ in range(requests):
                # A new connection each time, so both worker processes take some of them.
                assert client.get("/healthz", headers={"Connection": "close"}).status_code == 200
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=20).text
        health = (("method", "GET"), ("route", "/healthz"), ("status", "2xx"))
        assert _samples(text, "ctnm_http_requests_total")[health] >= requests
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    """Bounded only against a process that never comes up; a slow machine just waits longer."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ctnm serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("ctnm serve did not answer /healthz within 120 s")


def test_the_dashboard_graphs_only_metrics_the_gateway_exports() -> None:
    dashboard = json.loads((REPO / "docs" / "grafana-dashboard.json").read_text())
    exported = {family.name for family in REGISTRY.collect()}
    used = {
        name.removesuffix("_total").removesuffix("_bucket")
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bctnm_[a-z_]+", target["expr"])
    }
    assert used, "the dashboard has no queries"
    assert used <= exported, f"graphed but not exported: {sorted(used - exported)}"
    assert exported <= used, f"exported but on no panel: {sorted(exported - used)}"
