"""The widget's HTML, rendered by Jinja2 with autoescaping (every value comes from outside)."""

from __future__ import annotations

from typing import Final

from jinja2 import Environment, PackageLoader, select_autoescape

from app.widget.context import WidgetContext
from app.widget.tokens import IssuedToken

__all__ = ["Pages", "language"]

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
    },
}


def language(locale: str | None) -> str:
    """Label language of a locale tag: German for ``de*``, English otherwise."""
    return "de" if locale and locale.lower().startswith("de") else "en"


class Pages:
    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("app.widget", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=False,
        )

    def refused(self, reason: str, locale: str | None) -> str:
        lang = language(locale)
        return self._env.get_template("refused.html").render(lang=lang, t=_LABELS[lang], reason=reason)

    def case(self, context: WidgetContext, issued: IssuedToken) -> str:
        lang = language(context.locale)
        t = _LABELS[lang]
        subjects = [
            (t[key], value)
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
        )
