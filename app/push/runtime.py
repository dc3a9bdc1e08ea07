"""The pusher in one process: N workers and, if asked, the poller, sharing one commercetools and one
novomind client. ``ctnm push`` runs it on its own; ``ctnm serve`` runs it inside the gateway with the
embedded backend. Built by the composition root (:func:`app.asgi.build_pusher`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Final

from app.mapping.loader import Mappings
from app.mapping.rules import ViewRules
from app.observability import log_event
from app.push.customers import CustomerContacts
from app.push.poller import MessageSource, Poller
from app.push.worker import OrderSource, Outcome, PushWorker, TicketWriter, WorkerOptions
from app.storage.ports import Delivery, Storage

__all__ = ["PushRuntime", "worker_name"]

_log = logging.getLogger("app.push.runtime")
_serial: Final = count(1)


def worker_name() -> str:
    """Unique per worker and readable in ``XINFO CONSUMERS``: host, process id and a counter."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{next(_serial)}"


class PushRuntime:
    def __init__(
        self,
        *,
        storage: Storage,
        mappings: Mappings,
        orders: OrderSource,
        messages: MessageSource,
        tickets: TicketWriter,
        workers: int = 1,
        poll: bool = False,
        batch_size: int = 64,
        lease_seconds: float = 30.0,
        observe: Callable[[Delivery, Outcome, int], None] | None = None,
        evict: Callable[[str], Awaitable[None]] | None = None,
        customers: CustomerContacts | None = None,
    ) -> None:
        if mappings.push is None:
            raise ValueError("mappings/push.toml is required to run the pusher")
        rules = ViewRules.from_mappings(mappings)
        self.workers = [
            PushWorker(
                queue=storage.queue,
                idempotency=storage.idempotency,
                gates=storage.gates,
                links=storage.links,
                orders=orders,
                tickets=tickets,
                rules=mappings.push,
                markets=mappings.markets,
                auto_link_field=mappings.links.auto.order_custom_field,
                tracking_url=rules.tracking_url,
                options=WorkerOptions(name=worker_name(), batch_size=batch_size, lease_seconds=lease_seconds),
                observe=observe,
                evict=evict,
                customers=customers,
            )
            for _ in range(workers)
        ]
        self.poller = (
            Poller(source=messages, queue=storage.queue, cursors=storage.cursors, rules=mappings.push.poll)
            if poll and mappings.push.poll.channels
            else None
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; in-flight batches finish first (their leases would hand them on anyway)."""
        log_event(_log, logging.INFO, "push.start", workers=len(self.workers), poll=self.poller is not None)
        tasks = [worker.run(stop) for worker in self.workers]
        if self.poller is not None:
            tasks.append(self.poller.run(stop))
        await asyncio.gather(*tasks)
        log_event(_log, logging.INFO, "push.stop")
