"""Simulator-only: a minimal agent desk, ``GET /__sim/desk/{ticketId}``, framing the gateway's widget.

iAGENT shows a ticket and its process's memos, and a plugin on the desk opens the gateway's widget
in an ``<iframe>`` with a link it signs. This page does the same for a sandbox ticket: its subject,
state and contact, the memos of its process (those the status pusher wrote among them), and the
widget framed beside them. The signed link comes from whoever embeds the sandbox
(``create_novomind_sandbox(desk_widget=…)``, the demo signs it as ``ctnm widget-url`` does): the
sandbox imports nothing of the gateway. The page is CSP-clean: no script at all, its styles from
``/__sim/desk.css``, frames only from the widget's origin.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any, Final
from urllib.parse import urlsplit

from litestar import Request, Response, get
from litestar.params import FromPath

from app.sandbox.novomind.state import Memo, NovomindSandboxState, Ticket

__all__ = ["DeskWidget", "desk_page", "desk_stylesheet"]

DeskWidget = Callable[[Ticket], str]
"""The signed widget URL for a ticket, made fresh for every page load (links expire)."""

_STYLE: Final = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: flex; min-height: 100vh; color: #1d2430; }
main { flex: 1; padding: 1rem 1.5rem; background: #f6f7f9; }
aside { width: 440px; border-left: 1px solid #d5d9e0; }
iframe { border: 0; width: 100%; height: 100vh; }
h1 { font-size: 1.2rem; margin: 0 0 .25rem; }
.meta { color: #5b6472; margin: 0 0 1rem; }
ol { list-style: none; padding: 0; }
li { background: #fff; border: 1px solid #d5d9e0; border-radius: 4px; padding: .5rem .75rem; margin: 0 0 .5rem; }
time { color: #5b6472; font-size: .85rem; display: block; }
"""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _memo(memo: Memo) -> str:
    return f'<li><time datetime="{escape(memo.created)}">{escape(memo.created)}</time>{escape(memo.text)}</li>'


def render(ticket: Ticket, memos: list[Memo], widget_url: str | None) -> str:
    contact = ticket.contact.get("email") or ticket.contact.get("id")
    subject = ticket.subject or f"Ticket {ticket.id}"
    listed = "".join(_memo(memo) for memo in memos) or "<li>No memos yet.</li>"
    frame = (
        f'<aside><iframe title="Order information" src="{escape(widget_url)}"></iframe></aside>'
        if widget_url
        else "<aside><p>No widget configured for this desk.</p></aside>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(subject)} · novomind sandbox desk</title>"
        '<link rel="stylesheet" href="/__sim/desk.css"></head><body><main>'
        f"<h1>{escape(subject)}</h1>"
        f'<p class="meta">Ticket {ticket.id} · process {ticket.process_id} · {escape(ticket.ticket_state)}'
        f" · {escape(str(contact))}</p>"
        f'<h2>Memos</h2><ol class="memos">{listed}</ol></main>{frame}</body></html>'
    )


def _headers(widget_url: str | None) -> dict[str, str]:
    frames = _origin(widget_url) if widget_url else "'none'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'self'; frame-src {frames}; base-uri 'none'; form-action 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


@get("/__sim/desk/{ticket_id:str}", include_in_schema=False)
async def desk_page(request: Request[Any, Any, Any], ticket_id: FromPath[str]) -> Response[str]:
    state: NovomindSandboxState = request.app.state.novomind
    ticket = state.tickets.get(int(ticket_id)) if ticket_id.isascii() and ticket_id.isdigit() else None
    if ticket is None:
        return Response("no such ticket", status_code=404, media_type="text/plain")
    make_url: DeskWidget | None = request.app.state.get("desk_widget")
    widget_url = make_url(ticket) if make_url is not None else None
    return Response(
        render(ticket, state.memos_of(ticket.process_id), widget_url),
        media_type="text/html",
        headers=_headers(widget_url),
    )


@get("/__sim/desk.css", include_in_schema=False)
async def desk_stylesheet() -> Response[str]:
    return Response(
        _STYLE, media_type="text/css", headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    )
