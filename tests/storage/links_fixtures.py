"""Deterministic link sets for migration tests and the round-trip benchmark."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from app.storage.ports import Link

KINDS = ("ticket", "process", "chat", "contact")


def make_links(count: int, *, seed: int = 7) -> list[Link]:
    rng = random.Random(seed)
    base = datetime(2026, 6, 1, tzinfo=UTC)
    links = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        reference = {
            "ticket": str(100_000 + index),
            "process": f"P-{200_000 + index}",
            "chat": f"chat-{index:06d}",
            "contact": str(uuid.UUID(int=rng.getrandbits(128))),
        }[kind]
        has_order = rng.random() < 0.8
        links.append(
            Link(
                kind=kind,
                reference=reference,
                order_id=str(uuid.UUID(int=rng.getrandbits(128))) if has_order else None,
                order_number=f"DE-{300_000 + index}" if has_order else None,
                customer_id=str(uuid.UUID(int=rng.getrandbits(128))) if rng.random() < 0.7 or not has_order else None,
                process_id=str(400_000 + index) if kind == "ticket" and rng.random() < 0.5 else None,
                store=rng.choice(["de-store", "us-store", "jp-store", None]),
                linked_by=f"agent-{rng.randrange(40)}",
                linked_at=base + timedelta(seconds=index, milliseconds=rng.randrange(1000)),
            )
        )
    return links
