"""Retry policy shared by every outbound client: full-jitter backoff, Retry-After, deadlines.

Pure and clock-injectable so the rules can be tested as tables and properties: the delay before
attempt ``n`` (0-based count of failures so far) is ``uniform(0, min(cap, base * 2**n))`` (AWS's
"full jitter"), raised to at least the server's ``Retry-After``, and no retry starts that could not
finish before the deadline.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import msgspec

__all__ = ["Deadline", "RetryPolicy", "parse_retry_after"]

# Statuses that say "not now" rather than "never": rate limiting and gateway/overload failures.
RETRIABLE_STATUSES = frozenset({429, 502, 503, 504})
_DELTA_SECONDS = re.compile(r"[0-9]{1,10}")


class RetryPolicy(msgspec.Struct, frozen=True):
    max_attempts: int = 4
    base_seconds: float = 0.1
    cap_seconds: float = 2.0

    def backoff(self, failures: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after ``failures`` failed attempts (``failures >= 1``)."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** min(failures - 1, 32)))
        delay = rng.uniform(0.0, ceiling)
        if retry_after is not None:
            # Retry-After is a floor (RFC 9110); jitter on top keeps a fleet from waking together.
            delay = max(delay, retry_after) + rng.uniform(0.0, self.base_seconds)
        return delay


class Deadline:
    """An absolute point in monotonic time that all attempts of one logical call must finish by."""

    __slots__ = ("_clock", "_expires_at")

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expires_at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._expires_at - self._clock())

    def allows(self, seconds: float) -> bool:
        return self.remaining() > seconds


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if absent or unusable."""
    if value is None:
        return None
    value = value.strip()
    # ASCII digits only: str.isdigit() also accepts "²", which float() rejects.
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - now())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
