"""CommercetoolsClient's Messages API calls and payment-to-order lookup against a scripted upstream.

Same set-up as ``test_commercetools_client``: ``httpx.MockTransport``, a fake clock whose ``sleep``
only records, a seeded ``random.Random``; nothing sleeps for real.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import httpx
import msgspec
import pytest

from app.commercetools.client import CommercetoolsClient
from app.commercetools.models import CtMessage, CtPagedRawMessages
from app.commercetools.queries import (
    MESSAGE_SORT,
    MESSAGES_SINCE,
    MESSAGES_UNTIL,
    ORDER_EXPANSIONS,
    MessageQuery,
    Predicate,
    message_query_params,
    messages_until_params,
)
from app.errors import UpstreamContractError, UpstreamRejectedError, UpstreamUnavailableError
from app.push import messages as pm
from tests.unit.fakes import Collector, FakeClock, Reply, ScriptedUpstream, Step, ct_settings, fixture_bytes

ORDER_ID: Final = "92f5a867-bf19-47ab-982c-6720a03a3921"  # id in orders.example.json
MESSAGE_ID: Final = "174adf2f-783f-4ce5-a2d5-ee7d3ee7caf4"
CREATED_FROM: Final = datetime(2026, 11, 27, 13, 45, 30, 123987, tzinfo=timezone(timedelta(hours=2)))
TYPES: Final = ("OrderShipmentStateChanged", "OrderStateChanged", "PaymentTransactionAdded")


def _message(index: int, **payload: Any) -> dict[str, Any]:
    return {
        "id": f"{MESSAGE_ID[:-2]}{index:02d}",
        "version": 1,
        "sequenceNumber": 10 + index,
        "resource": {"typeId": "order", "id": ORDER_ID},
        "resourceVersion": 20 + index,
        "resourceUserProvidedIdentifiers": {"orderNumber": "DE-100001"},
        "createdAt": f"2026-11-27T11:45:3{index}.000Z",
        "lastModifiedAt": f"2026-11-27T11:45:3{index}.000Z",
        **payload,
    }


MESSAGES: Final = [
    _message(0, type="OrderShipmentStateChanged", shipmentState="Shipped", oldShipmentState="Ready"),
    _message(1, type="OrderStateChanged", orderState="Cancelled", oldOrderState="Confirmed"),
    # Not a type the pusher maps, and a known type with a broken payload: both still arrive, raw.
    _message(2, type="CustomerCreated", customer={"id": "c-1"}),
    _message(3, type="OrderStateChanged", orderState=7),
]


def page_reply(messages: list[Any], *, limit: int = 500, offset: int = 0) -> Reply:
    body = {"limit": limit, "offset": offset, "count": len(messages), "results": messages}
    # Key order and spacing as a server might send them, to show the raw bytes pass through untouched.
    return Reply(200, json.dumps(body, indent=1).encode(), [(b"Content-Type", b"application/json")])


def ct_error(status: int, code: str) -> Reply:
    return Reply.json(status, {"statusCode": status, "message": code, "errors": [{"code": code, "message": code}]})


@asynccontextmanager
async def open_client(
    upstream: ScriptedUpstream, clock: FakeClock, **overrides: Any
) -> AsyncIterator[CommercetoolsClient]:
    client = CommercetoolsClient(
        ct_settings(**overrides), transport=upstream.transport(), rng=random.Random(7), sleep=clock.sleep, clock=clock
    )
    try:
        yield client
    finally:
        await client.aclose()


def raw_path(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii").partition("?")[0]


# -- the query parameters ------------------------------------------------------------------------------


def test_message_query_params_are_the_fixed_template_plus_variables() -> None:
    query = MessageQuery(created_from=CREATED_FROM, message_types=TYPES, limit=200, offset=400)
    assert message_query_params(query) == [
        ("where", "createdAt >= :createdFrom and type in :types"),
        # UTC with milliseconds, truncated: a cursor never moves past a message of its own millisecond.
        ("var.createdFrom", "2026-11-27T11:45:30.123Z"),
        ("var.types", "OrderShipmentStateChanged"),
        ("var.types", "OrderStateChanged"),
        ("var.types", "PaymentTransactionAdded"),
        ("sort", "createdAt asc"),
        ("sort", "id asc"),
        ("limit", "200"),
        ("offset", "400"),
        ("withTotal", "false"),
    ]
    assert MESSAGES_SINCE == "createdAt >= :createdFrom and type in :types"
    assert MESSAGE_SORT == ("createdAt asc", "id asc")
    assert '"' not in MESSAGES_SINCE


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"created_from": datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001 - the point of the test
        ({"message_types": ()}, "at least one type"),
        ({"message_types": ("OrderStateChanged", "")}, "non-empty"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10_001}, "offset"),
    ],
)
def test_message_query_refuses_what_commercetools_would(changes: dict[str, Any], match: str) -> None:
    values: dict[str, Any] = {"created_from": CREATED_FROM, "message_types": TYPES} | changes
    with pytest.raises(ValueError, match=match):
        MessageQuery(**values)


def test_message_query_accepts_the_limits() -> None:
    MessageQuery(created_from=CREATED_FROM, message_types=("A",), limit=1, offset=0)
    MessageQuery(created_from=CREATED_FROM, message_types=("A",), limit=500, offset=10_000)


def test_orders_by_payment_id_template() -> None:
    assert Predicate.ORDERS_BY_PAYMENT_ID.value == "paymentInfo(payments(id = :paymentId))"
    assert Predicate.ORDERS_BY_PAYMENT_ID.variables == frozenset({"paymentId"})


# -- query_messages ------------------------------------------------------------------------------------


async def test_query_messages_sends_the_template_variables_and_paging(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[page_reply(MESSAGES)], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.query_messages(created_from=CREATED_FROM, message_types=list(TYPES), limit=100, offset=300)

    (request,) = upstream.api_requests
    assert request.method == "GET"
    assert (request.url.host, raw_path(request)) == ("api.test", "/demo/messages")
    assert request.url.params.multi_items() == message_query_params(
        MessageQuery(created_from=CREATED_FROM, message_types=TYPES, limit=100, offset=300)
    )
    assert request.headers["Accept"] == "application/json"
    assert "X-Correlation-ID" in request.headers


@pytest.mark.parametrize(("messages", "kept"), [(MESSAGES[:1], True), ([], False)])
async def test_has_message_until_asks_for_one_message_at_or_before_the_moment(
    clock: FakeClock, messages: list[dict[str, Any]], kept: bool
) -> None:
    upstream = ScriptedUpstream(api=[page_reply(messages, limit=1)], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.has_message_until(CREATED_FROM) is kept

    (request,) = upstream.api_requests
    assert raw_path(request) == "/demo/messages"
    assert request.url.params.multi_items() == [
        ("where", MESSAGES_UNTIL),
        ("var.createdTo", "2026-11-27T11:45:30.123Z"),
        ("limit", "1"),
        ("withTotal", "false"),
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        messages_until_params(CREATED_FROM.replace(tzinfo=None))


async def test_query_messages_defaults_to_a_full_first_page(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[page_reply([])], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.query_messages(created_from=CREATED_FROM, message_types=TYPES)

    params = upstream.api_requests[0].url.params
    assert (params["limit"], params["offset"], params["withTotal"]) == ("500", "0", "false")


async def test_query_messages_keeps_every_message_raw(clock: FakeClock) -> None:
    reply = page_reply(MESSAGES, limit=4, offset=8)
    upstream = ScriptedUpstream(api=[reply], clock=clock)
    async with open_client(upstream, clock) as client:
        page = await client.query_messages(created_from=CREATED_FROM, message_types=TYPES, limit=4, offset=8)

    assert isinstance(page, CtPagedRawMessages)
    assert (page.limit, page.offset, page.count, page.total) == (4, 8, 4, None)
    assert all(isinstance(raw, msgspec.Raw) for raw in page.results)
    # The exact bytes the server sent for each message.
    assert [json.loads(bytes(raw)) for raw in page.results] == MESSAGES
    assert all(bytes(raw) in reply.body for raw in page.results)
    decoded = [pm.decode_message(raw) for raw in page.results]
    assert isinstance(decoded[0], pm.OrderShipmentStateChanged)
    assert decoded[0].shipment_state == "Shipped"
    assert isinstance(decoded[1], pm.OrderStateChanged)
    assert isinstance(decoded[2], pm.GenericMessage)
    assert not decoded[2].payload_invalid
    # A broken payload costs only that message, and only its payload.
    assert isinstance(decoded[3], pm.GenericMessage)
    assert decoded[3].payload_invalid


async def test_a_message_with_a_broken_envelope_does_not_break_the_page(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[page_reply([MESSAGES[0], {"id": 1}, [], "x"])], clock=clock)
    async with open_client(upstream, clock) as client:
        page = await client.query_messages(created_from=CREATED_FROM, message_types=TYPES)

    assert len(page.results) == 4
    assert isinstance(pm.decode_message(page.results[0]), pm.OrderShipmentStateChanged)
    for raw in page.results[1:]:
        with pytest.raises(pm.UndecodableDelivery):
            pm.decode_message(raw)


async def test_the_official_messages_example_decodes(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, fixture_bytes("messages.example.json"))], clock=clock)
    async with open_client(upstream, clock) as client:
        page = await client.query_messages(created_from=CREATED_FROM, message_types=("PaymentStatusInterfaceCodeSet",))

    (raw,) = page.results
    envelope = msgspec.json.decode(raw, type=CtMessage)
    message = pm.decode_message(raw)
    assert (message.id, message.sequence_number, message.message_type) == (
        envelope.id,
        envelope.sequence_number,
        envelope.type,
    )
    assert message.resource.type_id == "payment"


@pytest.mark.parametrize(
    "types",
    [
        ('x" or id is defined or type = "', 'type in ("A")'),
        ("OrderStateChanged) or (id is defined", "&where=id is defined"),
    ],
)
async def test_types_and_cursor_only_ever_travel_as_variables(clock: FakeClock, types: tuple[str, ...]) -> None:
    upstream = ScriptedUpstream(api=[page_reply([])], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.query_messages(created_from=CREATED_FROM, message_types=types)

    params = upstream.api_requests[0].url.params
    assert params.get_list("where") == [MESSAGES_SINCE]
    assert params.get_list("var.types") == list(types)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"created_from": datetime(2026, 1, 1), "message_types": TYPES}, "timezone-aware"),  # noqa: DTZ001
        ({"created_from": CREATED_FROM, "message_types": []}, "at least one type"),
        ({"created_from": CREATED_FROM, "message_types": "OrderStateChanged"}, "not one string"),
        ({"created_from": CREATED_FROM, "message_types": TYPES, "limit": 501}, "limit"),
        ({"created_from": CREATED_FROM, "message_types": TYPES, "offset": 10_500}, "offset"),
    ],
)
async def test_bad_arguments_raise_before_any_request(clock: FakeClock, kwargs: dict[str, Any], match: str) -> None:
    upstream = ScriptedUpstream(api=[page_reply([])], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(ValueError, match=match):
            await client.query_messages(**kwargs)

    assert upstream.requests == []


async def test_query_messages_404_is_an_empty_page(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(404, "ResourceNotFound")], clock=clock)
    async with open_client(upstream, clock) as client:
        page = await client.query_messages(created_from=CREATED_FROM, message_types=TYPES, limit=50, offset=100)

    assert page == CtPagedRawMessages(results=[], limit=50, offset=100, count=0)
    assert len(upstream.api_requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "body",
    [b'{"limit": 500, "offset": 0, "count": 1, "results": {}}', b'{"limit": 500', b"[]", b"<html>"],
    ids=["results-not-a-list", "truncated", "not-an-object", "html"],
)
async def test_undecodable_message_page_is_a_contract_error(clock: FakeClock, app_logs: Collector, body: bytes) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, body)], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamContractError):
            await client.query_messages(created_from=CREATED_FROM, message_types=TYPES)

    assert len(upstream.api_requests) == 1
    (undecodable,) = app_logs.events("upstream.undecodable")
    assert undecodable["operation"] == "/messages?where=MESSAGES_SINCE"


async def test_logs_name_the_template_never_the_cursor_or_types(clock: FakeClock, app_logs: Collector) -> None:
    upstream = ScriptedUpstream(api=[page_reply(MESSAGES)], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.query_messages(created_from=CREATED_FROM, message_types=("SecretTypeName",))
        await client.get_message(MESSAGE_ID)

    assert [c["operation"] for c in app_logs.events("upstream.call")] == [
        "/messages?where=MESSAGES_SINCE",
        "/messages/{id}",
    ]
    for text in app_logs.texts():
        assert "SecretTypeName" not in text
        assert "2026-11-27T11:45:30" not in text
        assert MESSAGE_ID not in text


# -- retries, the same as every other call -------------------------------------------------------------

RETRIED: Final[list[Step]] = [
    httpx.ConnectError,
    httpx.ReadTimeout,
    httpx.RemoteProtocolError,
    ct_error(429, "TooManyRequests"),
    Reply(502, b"<html>bad gateway</html>"),
    ct_error(503, "OverCapacity"),
    Reply(504),
    ct_error(500, "General"),
]


def step_id(step: Step) -> str:
    return str(step.status) if isinstance(step, Reply) else step.__name__


@pytest.mark.parametrize("failure", RETRIED, ids=step_id)
async def test_query_messages_retries_like_every_read(clock: FakeClock, failure: Step) -> None:
    upstream = ScriptedUpstream(api=[failure, page_reply(MESSAGES)], clock=clock)
    async with open_client(upstream, clock) as client:
        page = await client.query_messages(created_from=CREATED_FROM, message_types=TYPES)

    assert len(page.results) == len(MESSAGES)
    assert len(upstream.api_requests) == 2
    assert len(clock.sleeps) == 1
    first, second = upstream.api_requests
    assert first.url.params.multi_items() == second.url.params.multi_items()


@pytest.mark.parametrize("failure", RETRIED, ids=step_id)
async def test_get_message_retries_like_every_read(clock: FakeClock, failure: Step) -> None:
    upstream = ScriptedUpstream(api=[failure, Reply(200, json.dumps(MESSAGES[0]).encode())], clock=clock)
    async with open_client(upstream, clock) as client:
        raw = await client.get_message(MESSAGE_ID)

    assert raw is not None
    assert len(upstream.api_requests) == 2


async def test_a_revoked_token_is_refetched_once(clock: FakeClock) -> None:
    invalid_token = Reply.json(401, {"statusCode": 401, "message": "invalid_token", "error": "invalid_token"})
    upstream = ScriptedUpstream(api=[invalid_token, page_reply(MESSAGES)], token=None, clock=clock)
    async with open_client(upstream, clock) as client:
        await client.query_messages(created_from=CREATED_FROM, message_types=TYPES)

    assert len(upstream.token_requests) == 2
    assert [r.headers["Authorization"] for r in upstream.api_requests] == ["Bearer tok-1", "Bearer tok-2"]


async def test_missing_view_messages_scope_is_rejected_without_retry(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(403, "insufficient_scope")], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.query_messages(created_from=CREATED_FROM, message_types=TYPES)

    assert (caught.value.status, caught.value.error_code) == (403, "insufficient_scope")
    assert len(upstream.api_requests) == 1


async def test_persistent_unavailability_gives_up_after_max_attempts(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(503, "OverCapacity")], clock=clock)
    async with open_client(upstream, clock, max_attempts=3) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.get_message(MESSAGE_ID)

    assert len(upstream.api_requests) == 3


# -- get_message ---------------------------------------------------------------------------------------


async def test_get_message_answers_the_raw_body(clock: FakeClock) -> None:
    body = json.dumps(MESSAGES[1], indent=2).encode()
    upstream = ScriptedUpstream(api=[Reply(200, body)], clock=clock)
    async with open_client(upstream, clock) as client:
        raw = await client.get_message(MESSAGE_ID)

    assert raw is not None
    assert bytes(raw) == body
    assert isinstance(pm.decode_message(raw), pm.OrderStateChanged)
    (request,) = upstream.api_requests
    assert raw_path(request) == f"/demo/messages/{MESSAGE_ID}"
    assert list(request.url.params.multi_items()) == []


async def test_get_message_404_is_none_without_retry(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(404, "ResourceNotFound")], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.get_message(MESSAGE_ID) is None

    assert len(upstream.api_requests) == 1
    assert clock.sleeps == []


async def test_get_message_id_stays_one_path_segment(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(404, "ResourceNotFound")], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.get_message("../orders/x?expand=y")

    assert raw_path(upstream.api_requests[0]) == "/demo/messages/..%2Forders%2Fx%3Fexpand%3Dy"


@pytest.mark.parametrize("body", [b"", b"<html>", b'{"id": "x"'], ids=["empty", "html", "truncated"])
async def test_get_message_that_is_not_json_is_a_contract_error(clock: FakeClock, body: bytes) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, body)], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamContractError):
            await client.get_message(MESSAGE_ID)


# -- find_order_by_payment -----------------------------------------------------------------------------


async def test_find_order_by_payment_queries_orders_by_the_payment_template(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, fixture_bytes("orders.example.json"))], clock=clock)
    async with open_client(upstream, clock) as client:
        order = await client.find_order_by_payment("pay-1")

    assert order is not None
    assert order.id == ORDER_ID
    (request,) = upstream.api_requests
    assert raw_path(request) == "/demo/orders"
    assert request.url.params.multi_items() == [
        ("where", "paymentInfo(payments(id = :paymentId))"),
        ("var.paymentId", "pay-1"),
        ("sort", "createdAt desc"),
        ("limit", "1"),
        ("withTotal", "false"),
        *[("expand", e) for e in ORDER_EXPANSIONS],
    ]


async def test_find_order_by_payment_can_skip_expansions(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, fixture_bytes("orders.example.json"))], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.find_order_by_payment("pay-1", expand=())

    assert upstream.api_requests[0].url.params.get_list("expand") == []


@pytest.mark.parametrize(
    "reply", [Reply(200, b'{"results": []}'), ct_error(404, "ResourceNotFound")], ids=["none", "404"]
)
async def test_find_order_by_payment_without_a_match_is_none(clock: FakeClock, reply: Reply) -> None:
    upstream = ScriptedUpstream(api=[reply], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.find_order_by_payment("pay-1") is None


async def test_hostile_payment_id_is_only_a_variable(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, b'{"results": []}')], clock=clock)
    hostile = 'x")) or id is defined or (id = "'
    async with open_client(upstream, clock) as client:
        assert await client.find_order_by_payment(hostile) is None

    params = upstream.api_requests[0].url.params
    assert params.get_list("where") == ["paymentInfo(payments(id = :paymentId))"]
    assert params.get_list("var.paymentId") == [hostile]


def test_created_from_in_any_zone_is_sent_as_utc() -> None:
    for moment in (CREATED_FROM, CREATED_FROM.astimezone(UTC), CREATED_FROM.astimezone(timezone(timedelta(hours=-7)))):
        params = dict(message_query_params(MessageQuery(created_from=moment, message_types=("A",))))
        assert params["var.createdFrom"] == "2026-11-27T11:45:30.123Z"
