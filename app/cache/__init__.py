"""The view cache: L1 per process, L2 in Redis (sealed), coalesced fills, freshness per market.

``ViewCache`` is the entry point (``views``); ``tiers`` holds the two levels, ``sealing`` the
encryption of values and the keyed hashing of names. Design, keys and failure modes: docs/cache.md.
"""

from app.cache.sealing import Sealer, SealError
from app.cache.tiers import Entry, Slot
from app.cache.views import Fill, Served, ViewCache

__all__ = ["Entry", "Fill", "SealError", "Sealer", "Served", "Slot", "ViewCache"]
