"""Redacting raw upstream documents before a payload log line is written (pure).

Views are masked field by field (``policy``); raw commercetools JSON has no view yet, so it is
redacted by key (every key that holds personal data in commercetools' representations, plus the
custom fields ``mappings/custom-fields.toml`` marks personal) and, as a second net, by value
pattern (emails and JWTs) wherever they occur. Phone numbers have no pattern that would not also
eat dates and tracking ids; they are caught by key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import msgspec

from app.observability import log_event

__all__ = ["PERSONAL_KEYS", "PayloadLog", "Redactor"]

_logger = logging.getLogger("app.payloads")

# commercetools field names that carry personal data (addresses, customers, orders, payments).
PERSONAL_KEYS = frozenset(
    {
        "email",
        "customerEmail",
        "lowercaseEmail",
        "firstName",
        "middleName",
        "lastName",
        "title",
        "salutation",
        "streetName",
        "streetNumber",
        "additionalStreetInfo",
        "additionalAddressInfo",
        "building",
        "apartment",
        "pOBox",
        "postalCode",
        "city",
        "phone",
        "mobile",
        "fax",
        "company",
        "companyName",
        "department",
        "dateOfBirth",
        "vatId",
        "password",
        "externalId",
        "oldEmail",
    }
)
_EMAIL = re.compile(r"[^\s@\"']+@[^\s@\"']+\.[A-Za-z]{2,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
REDACTED = "***"


class Redactor:
    def __init__(self, personal_custom_fields: Iterable[str] = (), *, max_bytes: int = 2048) -> None:
        self._keys = PERSONAL_KEYS | frozenset(personal_custom_fields)
        self._max_bytes = max_bytes

    def redact(self, document: bytes) -> str:
        """The document with personal values replaced, cut to ``max_bytes``; never raises."""
        try:
            tree = msgspec.json.decode(document)
        except msgspec.DecodeError:
            return self._cap(self._scrub(document.decode("utf-8", errors="replace")))
        return self._cap(msgspec.json.encode(self._walk(tree)).decode())

    def _walk(self, node: object) -> object:
        if isinstance(node, dict):
            return {k: (REDACTED if k in self._keys and v is not None else self._walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [self._walk(item) for item in node]
        if isinstance(node, str):
            return self._scrub(node)
        return node

    @staticmethod
    def _scrub(text: str) -> str:
        return _JWT.sub(REDACTED, _EMAIL.sub(REDACTED, text))

    def _cap(self, text: str) -> str:
        encoded = text.encode()
        if len(encoded) <= self._max_bytes:
            return text
        return (
            encoded[: self._max_bytes].decode("utf-8", errors="ignore") + f"…(+{len(encoded) - self._max_bytes} bytes)"
        )


class PayloadLog:
    """Payload log lines behind a switch (``GATEWAY_LOG_PAYLOADS``): always redacted, always capped.

    Upstream documents go through :class:`Redactor`; views the gateway answers with are logged in
    their *masked* form, whatever the caller was allowed to see.
    """

    def __init__(self, *, enabled: bool, redactor: Redactor) -> None:
        self.enabled = enabled
        self._redactor = redactor
        self._encoder = msgspec.json.Encoder()

    def upstream(self, operation: str, body: bytes) -> None:
        if self.enabled:
            log_event(
                _logger,
                logging.INFO,
                "payload",
                direction="upstream",
                operation=operation,
                body=self._redactor.redact(body),
            )

    def answer(self, resource_type: str, masked_view: object) -> None:
        if self.enabled:
            log_event(
                _logger,
                logging.INFO,
                "payload",
                direction="answer",
                resource=resource_type,
                body=self._redactor.redact(self._encoder.encode(masked_view)),
            )
