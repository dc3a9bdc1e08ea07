"""The Messages API poller: the second way in, for projects without a subscription (or as a safety net).

Each channel of ``[poll.channels]`` in ``mappings/push.toml`` is read on its own schedule with a
durable cursor, the ``createdAt`` of the newest message queued so far. Every poll re-reads an
overlapping window behind the cursor (commercetools may make a message visible after later ones), and
the queue drops what it has already seen by message id, so overlap, restarts, several pollers and a
subscription running at the same time never cause a second effect. The cursor moves by
compare-and-set and only forwards. A first poll starts at "now minus the overlap": history before the
gateway existed is not replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

import msgspec

from app.commercetools.models import CtPagedRawMessages
from app.errors import GatewayError
from app.mapping.schema import PollChannel, PollRules
from app.observability import end_trace, log_event, use_correlation_id, use_trace
from app.push import messages as m
from app.push.intake import accept_delivery
from app.storage.ports import CursorStore, EventQueue

__all__ = ["MessageSource", "PollResult", "Poller"]

_log = logging.getLogger("app.push.poller")
_PAGE: Final = 500
_MAX_OFFSET: Final = 10_000
"""commercetools refuses larger offsets; a window with more messages continues from its newest one."""


class MessageSource(Protocol):
    async def query_messages(
        self, *, created_from: datetime, message_types: Sequence[str], limit: int = 500, offset: int = 0
    ) -> CtPagedRawMessages: ...


class PollResult(msgspec.Struct, frozen=True):
    channel: str
    seen: int
    queued: int
    cursor: str | None


class Poller:
    def __init__(
        self,
        *,
        source: MessageSource,
        queue: EventQueue,
        cursors: CursorStore,
        rules: PollRules,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._queue = queue
        self._cursors = cursors
        self._rules = rules
        self._now = now

    @property
    def channels(self) -> dict[str, PollChannel]:
        return self._rules.channels

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every channel on its own interval until ``stop`` is set."""
        await asyncio.gather(*(self._run_channel(name, channel, stop) for name, channel in self.channels.items()))

    async def _run_channel(self, name: str, channel: PollChannel, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.poll(name)
            except GatewayError as exc:  # commercetools or storage down: try again next interval
                log_event(_log, logging.WARNING, "push.poll.failed", channel=name, error=exc.code)
            try:
                await asyncio.wait_for(stop.wait(), timeout=channel.interval_seconds)
            except TimeoutError:
                continue

    async def poll(self, name: str) -> PollResult:
        """One poll of one channel: queue every message in the window, then move the cursor."""
        use_correlation_id(f"poll-{name}")
        use_trace(None, name=f"poll {name}", server=False)
        try:
            return await self._poll(name)
        finally:
            end_trace(f"poll {name}")

    async def _poll(self, name: str) -> PollResult:
        channel = self.channels[name]
        cursor_name = f"poll:{name}"
        stored = await self._cursors.get(cursor_name)
        newest = (
            datetime.fromisoformat(stored) if stored else self._now() - timedelta(seconds=self._rules.overlap_seconds)
        )
        start = newest - timedelta(seconds=self._rules.overlap_seconds) if stored else newest
        seen = queued = offset = 0
        while True:
            page = await self._source.query_messages(
                created_from=start, message_types=channel.message_types, limit=_PAGE, offset=offset
            )
            for raw in page.results:
                seen += 1
                try:
                    message = m.decode_message(raw)
                except m.UndecodableDelivery:
                    log_event(_log, logging.WARNING, "push.poll.undecodable", channel=name)
                    continue
                result = await accept_delivery(
                    self._queue, m.MessageDelivery(envelope=m.Envelope(format="message"), message=message)
                )
                queued += result.outcome == "queued"
                newest = max(newest, message.created_at)
            if len(page.results) < _PAGE or offset + _PAGE >= _MAX_OFFSET:
                break
            offset += _PAGE
        value = newest.astimezone(UTC).isoformat(timespec="microseconds")
        if value != stored and not await self._cursors.advance(cursor_name, expected=stored, value=value):
            # Another poller moved it meanwhile; its window covers ours (the queue dedupes the overlap).
            value = await self._cursors.get(cursor_name) or value
        log_event(_log, logging.INFO, "push.poll", channel=name, seen=seen, queued=queued)
        return PollResult(channel=name, seen=seen, queued=queued, cursor=value)
