"""What leaves the process is sealed: values encrypted and authenticated, keys hashed with a secret.

One secret (``GATEWAY_CACHE_KEY``) yields two independent keys through HKDF: an AES-256-GCM key for
values and an HMAC-SHA256 key for names. A value is bound to the Redis key it is stored under (the
key is the AEAD's associated data), so a value copied to another key does not open there either.
A Redis dump, a replica or ``MONITOR`` shows random bytes and hex digests, never an order number,
an email or a name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Final

from cachetools import LRUCache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["MIN_KEY_LENGTH", "SealError", "Sealer"]

MIN_KEY_LENGTH: Final = 32
_NONCE: Final = 12
# Bumped when the derivation or the value layout changes: old values then simply fail to open.
_INFO: Final = b"ctnm cache v1"
_NAMES_KEPT: Final = 4096


class SealError(Exception):
    """A value did not open (another key, tampered, truncated): treated as a miss, never shown."""


class Sealer:
    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_KEY_LENGTH:
            raise ValueError(f"the cache key needs at least {MIN_KEY_LENGTH} characters")
        material = HKDF(algorithm=SHA256(), length=64, salt=None, info=_INFO).derive(secret.encode())
        self._aead = AESGCM(material[:32])
        self._names = material[32:]
        # Hot names (the orders agents have open) are hashed once: an HMAC per answer was 3% of a hit.
        self._named: LRUCache[tuple[str, str], str] = LRUCache(maxsize=_NAMES_KEPT)

    @classmethod
    def ephemeral(cls) -> Sealer:
        """For a process without Redis: names never leave it, so a random key per process will do."""
        return cls(os.urandom(32).hex())

    def name(self, kind: str, value: str) -> str:
        """A stable, secret-keyed digest of an identifier (order number, email, phone, customer id)."""
        known = self._named.get((kind, value))
        if known is None:
            digest = hmac.new(self._names, kind.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest()
            known = self._named[(kind, value)] = f"{kind}:{digest[:32]}"
        return known

    def seal(self, plaintext: bytes, where: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, where)

    def open(self, sealed: bytes, where: bytes) -> bytes:
        if len(sealed) <= _NONCE:
            raise SealError("truncated")
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], where)
        except InvalidTag:
            raise SealError("does not authenticate") from None
