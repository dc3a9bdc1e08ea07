"""Formats of caller input, checked before anything is sent upstream (422 otherwise).

Patterns are deliberately wider than today's data and narrower than anything that could carry a
predicate fragment, a path separator or a megabyte of text. The HTTP layer advertises them in the
OpenAPI document, so clients and fuzzers see the same rules the gateway enforces.
"""

from __future__ import annotations

ORDER_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# commercetools resource ids are UUIDs; anything else cannot name a resource.
RESOURCE_ID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
EMAIL_PATTERN = r"^[^@\s\"\\(),:;<>\[\]]{1,64}@[^@\s\"\\(),:;<>\[\]]{1,185}\.[A-Za-z]{2,63}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 ()./-]{3,30}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
