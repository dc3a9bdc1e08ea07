"""The per-resource ordering rule and idempotency keys for help-desk effects (pure, no I/O).

commercetools delivers at least once and in no particular order; ``sequenceNumber`` grows by exactly
one per resource. Against a high-water mark (the last sequence number applied for that resource):

* ``seq <= last`` → ``"stale"``: already applied or superseded; drop it.
* ``seq == last + 1`` (or nothing applied yet) → ``"apply"``.
* ``seq > last + 1`` → ``"gap"``: messages are missing; re-read the order and write its current state
  (guarded by its ``version``), then raise the mark to ``seq``.

Either way the help-desk write is a state assignment, never an increment, so replays are harmless.
"""

from __future__ import annotations

import hashlib
from typing import Literal

__all__ = ["EFFECT_KEY_PREFIX", "Decision", "advance", "decide", "effect_key"]

Decision = Literal["apply", "stale", "gap"]

EFFECT_KEY_PREFIX = "fx1:"


def decide(last_applied: int | None, sequence_number: int) -> Decision:
    """What to do with a message given the resource's high-water mark (``None``: nothing applied yet)."""
    if last_applied is None:
        return "apply"
    if sequence_number <= last_applied:
        return "stale"
    if sequence_number == last_applied + 1:
        return "apply"
    return "gap"


def advance(last_applied: int | None, sequence_number: int) -> int | None:
    """The high-water mark after handling ``sequence_number`` (unchanged for a stale message).

    Both ``"apply"`` and ``"gap"`` (after the re-read) move the mark to ``sequence_number``.
    """
    if decide(last_applied, sequence_number) == "stale":
        return last_applied
    return sequence_number


def effect_key(message_id: str, ticket_reference: str, action: str) -> str:
    """Idempotency key for one help-desk side effect: ``hash(ct message id, ticket, action)``.

    Deterministic, 36 characters, and opaque: the inputs are hashed (length-prefixed, so no two
    distinct triples share an encoding), so no personal data or ticket id appears in the key.
    """
    digest = hashlib.blake2b(digest_size=16, person=b"ctnm-effect-key")
    for part in (message_id, ticket_reference, action):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return EFFECT_KEY_PREFIX + digest.hexdigest()
