"""GET /widget: a signed link opens the case page; anything else gets a 403 page with no data."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.settings import Secret
from app.widget.context import signed_query
from app.widget.pages import asset_version
from tests.support import REPO, settings_for

SECRET = "k" * 40
DESK = "https://desk.example.com"


def _refuse_every_call(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the widget page must not call commercetools here ({request.url.path})")


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_for("http://ct.test")
    gateway = msgspec.structs.replace(
        settings.gateway, widget_secret=Secret(SECRET), widget_frame_ancestors=f"{DESK} http://127.0.0.1:9"
    )
    app = create_app(
        msgspec.structs.replace(settings, gateway=gateway),
        commercetools_transport=httpx.MockTransport(_refuse_every_call),
    )
    async with AsyncTestClient(app) as test_client:
        yield test_client


def _link(**params: str) -> str:
    base = {"agentId": "agent-7", "role": "agent", "exp": str(int(time.time()) + 600), "ticketId": "4711"}
    return f"/widget?{signed_query({**base, **params}, SECRET)}"


def _tampered(link: str) -> str:
    """The same link with the signature's last hex digit changed."""
    return link[:-1] + ("0" if link[-1] != "0" else "1")


def _assert_frame_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert f"frame-ancestors {DESK} http://127.0.0.1:9" in csp
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


async def test_a_signed_link_opens_the_case(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(_link(orderNumber="100042", contactEmail="jane@example.com", locale="de-DE"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    _assert_frame_headers(response)
    assert "4711" in response.text
    assert "100042" in response.text
    assert 'lang="de"' in response.text
    # The email is the customer's: never shown as text, only handed to the script for the lookup
    # (a body attribute it reads once and removes), never put into an address.
    assert "jane@example.com" not in response.text
    assert 'data-lookup="ticketId=4711&amp;email=jane%40example.com&amp;orderNumber=100042"' in response.text
    assert "<script>" not in response.text
    assert 'data-can-reveal="false"' in response.text
    assert 'data-can-link="true"' in response.text
    # The page is complete without its data: five sections, each a skeleton marked busy until filled.
    assert response.text.count('class="skeleton" aria-hidden="true"') == 5
    assert response.text.count('aria-busy="true"') == 5


async def test_the_supervisor_page_may_reveal_and_a_link_without_ticket_may_not_link(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get(_link(role="supervisor", ticketId="", orderNumber="100042"))
    assert response.status_code == 200
    assert 'data-can-reveal="true"' in response.text
    assert 'data-can-link="false"' in response.text
    assert 'data-lookup="orderNumber=100042"' in response.text


def _static(page: str) -> str:
    found = re.search(r'href="(/widget/static/[0-9a-f]{16})/widget.css"', page)
    assert found, "the page links its stylesheet under a content-versioned path"
    return found.group(1)


async def test_the_page_script_is_a_module_served_by_the_gateway(client: AsyncTestClient[Litestar]) -> None:
    page = (await client.get(_link())).text
    static = _static(page)
    assert f'<script type="module" src="{static}/widget.js"></script>' in page
    # Every module is preloaded from the head (one round of fetches, not one per import level).
    modules = sorted(p.name for p in (REPO / "app" / "widget" / "static" / "js").glob("*.js"))
    assert len(modules) >= 5
    for module in modules:
        assert f'<link rel="modulepreload" href="{static}/js/{module}">' in page
    for path in ("widget.js", "js/sections.js", "js/i18n.js"):
        response = await client.get(f"{static}/{path}")
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]
        # The path names the content: browsers keep the files (and a release changes the path).
        assert set(response.headers["cache-control"].split(", ")) == {"public", "max-age=31536000", "immutable"}


async def test_the_static_path_changes_with_any_file(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    (tmp_path / "b.css").write_text("p {}\n")
    before = asset_version(tmp_path)
    assert asset_version(tmp_path) == before
    (tmp_path / "js" / "a.js").write_text("export const a = 2;\n")
    assert asset_version(tmp_path) != before
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    assert asset_version(tmp_path) == before
    (tmp_path / "js" / "a.js").rename(tmp_path / "js" / "c.js")
    assert asset_version(tmp_path) != before


async def test_values_are_escaped(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(_link(ticketId="<img src=x onerror=alert(1)>"))
    assert response.status_code == 200
    assert "<img" not in response.text
    assert "&lt;img" in response.text


async def test_the_stylesheet_is_served_by_the_gateway(client: AsyncTestClient[Litestar]) -> None:
    refused = await client.get(_tampered(_link()))
    response = await client.get(f"{_static(refused.text)}/widget.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


async def test_without_a_secret_the_widget_is_refused() -> None:
    app = create_app(settings_for("http://ct.test"), commercetools_transport=httpx.MockTransport(_refuse_every_call))
    async with AsyncTestClient(app) as client:
        response = await client.get(_link())
    assert response.status_code == 403
    assert "GATEWAY_WIDGET_SECRET" in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
