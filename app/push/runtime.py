"""The pusher in one process: N workers and, if asked, the poller, sharing one commercetools and one
novomind client. ``ctnm push`` runs it on its own; ``ctnm serve`` runs it inside the gateway with the
embedded backend. Built by the composition root (:func:`app.asgi.build_pusher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Final

from app.errors import GatewayError
from app.mapping.loader import Mappings
from app.mapping.rules import ViewRules
from app.metrics import observe_queue
from app.observability import log_event
from app.push.customers import CustomerContacts
from app.push.poller import MessageSource, Poller
from app.push.worker import OrderSource, Outcome, PushWorker, TicketWriter, WorkerOptions
from app.storage.ports import Delivery, Storage

__all__ = ["PushRuntime", "worker_name"]

_log = logging.getLogger("app.push.runtime")
_serial: Final = count(1)
QUEUE_SAMPLE_SECONDS: Final = 5.0


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
        self._queue = storage.queue
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
                history=storage.history,
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
        tasks.append(self._sample_queue(stop))
        await asyncio.gather(*tasks)
        log_event(_log, logging.INFO, "push.stop")

    async def _sample_queue(self, stop: asyncio.Event) -> None:
        """Queue depth and the oldest event's age for the metrics, every few seconds while running."""
        while not stop.is_set():
            try:
                stats = await self._queue.stats()
                observe_queue(
                    waiting=stats.ready + stats.delayed + stats.in_flight,
                    oldest_enqueued_at=stats.oldest_enqueued_at,
                    dead_letters=stats.dead,
                )
            except GatewayError as exc:  # storage down: the workers report it; keep the last sample
                log_event(_log, logging.DEBUG, "push.queue_sample_failed", error=exc.code)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), QUEUE_SAMPLE_SECONDS)
