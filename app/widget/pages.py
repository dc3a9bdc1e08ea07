"""The widget's HTML, rendered by Jinja2 with autoescaping (every value comes from outside)."""

from __future__ import annotations

import hashlib
import urllib.parse
from pathlib import Path
from typing import Final

from jinja2 import Environment, PackageLoader, select_autoescape

from app.mapping.schema import WidgetRole
from app.widget.context import WidgetContext
from app.widget.tokens import IssuedToken

__all__ = ["STATIC_DIRECTORY", "Pages", "asset_version", "language"]

STATIC_DIRECTORY: Final = Path(__file__).parent / "static"

_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "This link cannot be opened",
        "because": "Reason:",
        "next": "Open the widget again from the ticket. No customer data was loaded.",
        "case": "Case",
        "agent": "Agent",
        "ticketId": "Ticket",
        "processId": "Process",
        "contactEmail": "Contact email",
        "contactExternalId": "Contact",
        "orderNumber": "Order",
        "customer": "Customer",
        "candidates": "Other matches",
        "orders": "Orders",
        "order": "Selected order",
        "pushes": "Updates sent to this ticket",
        "loading": "Loading",
        "refresh": "Refresh",
    },
    "de": {
        "title": "Dieser Link kann nicht geöffnet werden",
        "because": "Grund (englisch):",
        "next": "Öffnen Sie das Widget erneut aus dem Ticket. Es wurden keine Kundendaten geladen.",
        "case": "Vorgang",
        "agent": "Agent",
        "ticketId": "Ticket",
        "processId": "Vorgang",
        "contactEmail": "Kontakt-E-Mail",
        "contactExternalId": "Kontakt",
        "orderNumber": "Bestellung",
        "customer": "Kunde",
        "candidates": "Weitere Treffer",
        "orders": "Bestellungen",
        "order": "Ausgewählte Bestellung",
        "pushes": "An dieses Ticket gesendete Updates",
        "loading": "Wird geladen",
        "refresh": "Aktualisieren",
    },
}


def language(locale: str | None) -> str:
    """Label language of a locale tag: German for ``de*``, English otherwise."""
    return "de" if locale and locale.lower().startswith("de") else "en"


def asset_version(directory: Path) -> str:
    """A digest of every static file's path and bytes: the URL segment that changes with any of them."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class Pages:
    def __init__(self) -> None:
        # Static files live under a path naming their content, so a browser may keep them for good
        # (scripts/bench_widget.py) and a new release can never meet an old module in its cache.
        self.static_path = f"/widget/static/{asset_version(STATIC_DIRECTORY)}"
        # The page's script modules, preloaded together from the page's head: the browser fetches them
        # in one round instead of finding them import by import (scripts/bench_widget.py: ~70 ms less).
        self._modules = tuple(sorted(p.name for p in (STATIC_DIRECTORY / "js").glob("*.js")))
        self._env = Environment(
            loader=PackageLoader("app.widget", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=False,
        )

    def refused(self, reason: str, locale: str | None) -> str:
        lang = language(locale)
        return self._env.get_template("refused.html").render(
            lang=lang, t=_LABELS[lang], reason=reason, static=self.static_path
        )

    def case(self, context: WidgetContext, role: WidgetRole, issued: IssuedToken) -> str:
        lang = language(context.locale)
        t = _LABELS[lang]
        subjects = [
            (key, t[key], value)
            for key, value in (
                ("ticketId", context.ticket_id),
                ("processId", context.process_id),
                ("orderNumber", context.order_number),
                ("contactExternalId", context.contact_external_id),
            )
            if value
        ]
        return self._env.get_template("case.html").render(
            lang=lang,
            t=t,
            subjects=subjects,
            agent_id=context.agent_id,
            role=context.role,
            token=issued.token,
            expires_in=issued.expires_in,
            lookup=lookup_query(context),
            modules=self._modules,
            static=self.static_path,
            ticket_id=context.ticket_id or "",
            locale=context.locale or "",
            can_reveal="pii:read" in role.scopes,
            can_link="links:write" in role.scopes and context.ticket_id is not None,
        )


def lookup_query(context: WidgetContext) -> str:
    """The ``GET /v1/lookup`` query the page sends: a body attribute its script reads once and
    removes, so the contact's email never sits in an address (history, referrer, logs)."""
    params = {
        "ticketId": context.ticket_id,
        "email": context.contact_email,
        "contactExternalId": context.contact_external_id,
        "orderNumber": context.order_number,
    }
    return urllib.parse.urlencode([(k, v) for k, v in params.items() if v], quote_via=urllib.parse.quote)
