"""``ctnm widget-url``: a signed widget link, for tests, demos and the novomind-side plugin author."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from app.settings import SettingsError, load_gateway_settings
from app.widget.context import signed_query

__all__ = ["add_widget_url_parser"]

# Command-line option -> signed parameter name (the contract's camelCase).
_OPTIONS = {
    "ticket_id": "ticketId",
    "process_id": "processId",
    "contact_email": "contactEmail",
    "contact_external_id": "contactExternalId",
    "order_number": "orderNumber",
    "locale": "locale",
    "agent_id": "agentId",
    "role": "role",
}


def _widget_url(args: argparse.Namespace) -> int:
    try:
        gateway = load_gateway_settings(os.environ)
    except SettingsError as exc:
        print(f"ctnm: {exc}", file=sys.stderr)
        return 2
    if gateway.widget_secret is None:
        print("ctnm: GATEWAY_WIDGET_SECRET: missing (widget links are signed with it)", file=sys.stderr)
        return 2
    if not 0 < args.ttl <= gateway.widget_max_ttl_seconds:
        print(
            f"ctnm: --ttl: must be 1..{gateway.widget_max_ttl_seconds} (GATEWAY_WIDGET_MAX_TTL_SECONDS)",
            file=sys.stderr,
        )
        return 2
    params = {name: getattr(args, option) for option, name in _OPTIONS.items() if getattr(args, option)}
    if not any(k in params for k in ("ticketId", "contactEmail", "contactExternalId", "orderNumber")):
        print(
            "ctnm: name at least one of --ticket-id, --contact-email, --contact-external-id, --order-number",
            file=sys.stderr,
        )
        return 2
    params["exp"] = str(int(time.time()) + args.ttl)
    print(f"{args.base_url.rstrip('/')}/widget?{signed_query(params, gateway.widget_secret.reveal())}")
    return 0


def add_widget_url_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "widget-url", help="print a widget URL signed with GATEWAY_WIDGET_SECRET"
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the gateway's address")
    parser.add_argument("--agent-id", required=True)
    parser.add_argument("--role", default="agent", help="a role of mappings/widget.toml (default: agent)")
    parser.add_argument("--ticket-id")
    parser.add_argument("--process-id")
    parser.add_argument("--contact-email")
    parser.add_argument("--contact-external-id")
    parser.add_argument("--order-number")
    parser.add_argument("--locale", help="e.g. de-DE; default: the market's")
    parser.add_argument("--ttl", type=int, default=900, help="seconds until the link expires (default 900)")
    parser.set_defaults(run=_widget_url)
    return parser
