"""Simulator-only desk page: a ticket, its process's memos and the widget framed, CSP-clean."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from app.sandbox.novomind import Ticket, create_novomind_sandbox


def _widget(ticket: Ticket) -> str:
    return f"https://gateway.example:8443/widget?ticketId=T-{ticket.id}&sig=a&b=<c>"


async def test_the_desk_shows_the_ticket_its_memos_and_frames_the_widget() -> None:
    app = create_novomind_sandbox(desk_widget=_widget)
    app.state.novomind.add_memo(100042, "Bestellung DE-100001 wurde versandt.")
    app.state.novomind.add_memo(100042, '<script>alert("x")</script>')
    app.state.novomind.add_memo(100051, "another process")
    async with AsyncTestClient(app) as client:
        page = await client.get("/__sim/desk/100042")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-src https://gateway.example:8443;" in csp
    assert "script-src" not in csp, "no script may run on the desk page"
    assert "unsafe-inline" not in csp
    html = page.text
    assert "<script" not in html, "memo text is escaped, never markup"
    assert "&lt;script&gt;" in html
    assert "Wo bleibt meine Bestellung DE-100001?" in html
    assert "Bestellung DE-100001 wurde versandt." in html
    assert "another process" not in html
    [src] = re.findall(r'<iframe [^>]*src="([^"]+)"', html)
    assert src == "https://gateway.example:8443/widget?ticketId=T-100042&amp;sig=a&amp;b=&lt;c&gt;"
    assert 'style="' not in html, "styles come from the stylesheet"


async def test_the_follow_up_ticket_shows_its_process_memos_and_unknown_tickets_are_404() -> None:
    app = create_novomind_sandbox(desk_widget=_widget)
    app.state.novomind.add_memo(100042, "memo of process 100042")
    async with AsyncTestClient(app) as client:
        follow_up = await client.get("/__sim/desk/100090")
        missing = await client.get("/__sim/desk/999")
        bad = await client.get("/__sim/desk/abc")
        css = await client.get("/__sim/desk.css")
    assert "memo of process 100042" in follow_up.text
    assert (missing.status_code, bad.status_code) == (404, 404)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


async def test_without_a_widget_the_desk_frames_nothing() -> None:
    async with AsyncTestClient(create_novomind_sandbox()) as client:
        page = await client.get("/__sim/desk/100042")
    assert page.status_code == 200
    assert "<iframe" not in page.text
    assert "frame-src 'none'" in page.headers["content-security-policy"]
