"""Pure verification of the signed context novomind puts in the widget's URL.

The novomind-side plugin signs the query it builds, so the widget can trust who the agent is,
which role they act in and which ticket/contact/order the page is about without a login of its
own. The contract (docs/widget.md) is fixed: HMAC-SHA256 over the query without ``sig``, its
parameters sorted by name and encoded as ``urlencode(sorted(items), quote_via=quote)``.
Nothing here reads a clock, the settings or the network: callers pass them in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Final

import msgspec

__all__ = [
    "CONTEXT_KEYS",
    "MIN_SECRET_LENGTH",
    "ContextRejectedError",
    "WidgetContext",
    "canonical_query",
    "sign",
    "signed_query",
    "verify",
]

MIN_SECRET_LENGTH: Final = 32
REQUIRED: Final = ("agentId", "role", "exp")
SUBJECTS: Final = ("ticketId", "contactEmail", "contactExternalId", "orderNumber")
OPTIONAL: Final = ("processId", "locale")
CONTEXT_KEYS: Final = frozenset((*REQUIRED, *SUBJECTS, *OPTIONAL))
_SIG: Final = re.compile(r"[0-9a-f]{64}")
_EXP: Final = re.compile(r"[0-9]{1,12}")
_MAX_VALUE_LENGTH: Final = 512


class ContextRejectedError(Exception):
    """The context cannot be trusted; ``reason`` is plain words for the 403 page (never a value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WidgetContext(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: str
    role: str
    expires_at: int
    ticket_id: str | None = None
    process_id: str | None = None
    contact_email: str | None = None
    contact_external_id: str | None = None
    order_number: str | None = None
    locale: str | None = None


def canonical_query(params: Mapping[str, str]) -> str:
    """The exact bytes that are signed: every parameter but ``sig``, sorted by name."""
    items = sorted((k, v) for k, v in params.items() if k != "sig")
    return urllib.parse.urlencode(items, quote_via=urllib.parse.quote)


def sign(params: Mapping[str, str], secret: str) -> str:
    return hmac.new(secret.encode(), canonical_query(params).encode(), hashlib.sha256).hexdigest()


def signed_query(params: Mapping[str, str], secret: str) -> str:
    """The query string of a signed widget URL (what ``ctnm widget-url`` and the demo print)."""
    return f"{canonical_query(params)}&sig={sign(params, secret)}"


def _single(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            # Two values for one name could be read differently by the signer and by us.
            raise ContextRejectedError(f"the parameter {key} appears more than once")
        params[key] = value
    return params


def verify(pairs: Iterable[tuple[str, str]], *, secret: str, now: float, max_ttl_seconds: int) -> WidgetContext:
    """The context the signed query proves, or :class:`ContextRejectedError` saying why not.

    ``pairs`` are the decoded query parameters in their order of arrival (duplicates included, so
    they can be refused). The signature is checked before anything else is trusted.
    """
    params = _single(pairs)
    sig = params.get("sig")
    if sig is None:
        raise ContextRejectedError("the link carries no signature")
    if not _SIG.fullmatch(sig) or not hmac.compare_digest(sig, sign(params, secret)):
        raise ContextRejectedError("the signature does not match: the link was changed or signed with another key")
    unknown = sorted(set(params) - CONTEXT_KEYS - {"sig"})
    if unknown:
        raise ContextRejectedError(f"unknown parameter {unknown[0]}")
    for key in REQUIRED:
        if not params.get(key):
            raise ContextRejectedError(f"the parameter {key} is required")
    if not any(params.get(key) for key in SUBJECTS):
        raise ContextRejectedError("the link names no ticket, contact or order")
    if any(len(value) > _MAX_VALUE_LENGTH for value in params.values()):
        raise ContextRejectedError("a parameter is too long")
    if not _EXP.fullmatch(params["exp"]):
        raise ContextRejectedError("exp is not a time in Unix seconds")
    expires_at = int(params["exp"])
    if expires_at <= now:
        raise ContextRejectedError("the link has expired")
    if expires_at > now + max_ttl_seconds:
        raise ContextRejectedError("the link is valid for longer than allowed")
    return WidgetContext(
        agent_id=params["agentId"],
        role=params["role"],
        expires_at=expires_at,
        ticket_id=params.get("ticketId") or None,
        process_id=params.get("processId") or None,
        contact_email=params.get("contactEmail") or None,
        contact_external_id=params.get("contactExternalId") or None,
        order_number=params.get("orderNumber") or None,
        locale=params.get("locale") or None,
    )
