"""Inbound commercetools subscription deliveries: authenticated, decoded, durably queued, then 202.

Thin: the sender check is :class:`app.access.EventSenderAuthenticator`, decoding is
:func:`app.push.messages.decode_delivery`, queueing is :func:`app.push.intake.accept_delivery`. A
delivery is acknowledged only once the queue holds it; if storage is down the answer is 503 and
commercetools (or Pub/Sub) delivers again, which the queue's dedupe by message id absorbs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from litestar import Controller, Request, post
from litestar.di import NamedDependency

from app.access import EventSenderAuthenticator
from app.api.problems import problem_responses
from app.errors import InvalidInputError, MissingCredentialsError
from app.push.intake import IntakeResult
from app.push.messages import Delivery, UndecodableDelivery, decode_delivery

__all__ = ["EVENT_MAX_BODY_BYTES", "EventIntake", "EventsController"]

EVENT_MAX_BODY_BYTES: Final = 1024 * 1024
"""A whole order travels in OrderCreated; Pub/Sub base64 adds a third. Larger messages arrive as payloadNotIncluded."""


@dataclass(frozen=True, slots=True)
class EventIntake:
    """What the endpoint needs, as one dependency: Litestar resolves sibling dependencies in a task
    group, which cost this endpoint, the busiest one, about a sixth of its CPU per request."""

    senders: EventSenderAuthenticator
    accept: Callable[[Delivery], Awaitable[IntakeResult]]
    """Queues a decoded delivery durably (``app.push.intake.accept_delivery`` bound to the queue)."""


class EventsController(Controller):
    path = "/v1/events"
    tags = ("events",)
    security = ({"EventSender": []},)

    @post(
        "/commercetools",
        operation_id="ReceiveCommercetoolsEvent",
        opt={"sender": True},
        status_code=202,
        request_max_body_size=EVENT_MAX_BODY_BYTES,
        summary="A commercetools subscription delivery (platform, CloudEvents or Pub/Sub push format)",
        description=(
            "Authenticated by `Authorization: Bearer <GATEWAY_EVENTS_SECRET>` or an OIDC token of the "
            "configured push service. Answers 202 once the event is durably queued (`queued`), or known "
            "already (`duplicate`), or needs nothing (`ignored`, e.g. the subscription's test message)."
        ),
        responses=problem_responses(401, 413, 422, 503),
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        intake: NamedDependency[EventIntake],
    ) -> IntakeResult:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MissingCredentialsError("a bearer token is required")
        await intake.senders.authenticate(token.strip())
        try:
            delivery = decode_delivery(await request.body())
        except UndecodableDelivery as exc:
            raise InvalidInputError("body", str(exc)) from None
        return await intake.accept(delivery)
