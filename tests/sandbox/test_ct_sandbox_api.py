"""Reads through the sandbox's API: lookups, in-store filtering, queries, paging, sorting, expansion."""

from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.seed import (
    DEMO_ORDER_NUMBER,
    DEMO_TICKET_ID,
    GLOBAL_CUSTOMER_EMAIL,
    HIGH_PRECISION_ORDER_NUMBER,
    JP_ORDER_NUMBER,
    SHARED_EMAIL,
    US_ORDER_NUMBER,
)
from tests.sandbox.calls import get_json

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


def _order(dataset: Dataset, number: str) -> dict[str, Any]:
    order = dataset.order_by_number(number)
    assert order is not None
    return order


# -- single resources ------------------------------------------------------------------------------


async def test_order_by_id_and_by_number_are_the_stored_representation(
    ct_client: Client, admin: Headers, ct_dataset: Dataset
) -> None:
    stored = _order(ct_dataset, DEMO_ORDER_NUMBER)
    assert await get_json(ct_client, f"/demo/orders/{stored['id']}", admin) == stored
    assert await get_json(ct_client, f"/demo/orders/order-number={DEMO_ORDER_NUMBER}", admin) == stored


async def test_order_numbers_are_url_decoded(ct_client: Client, admin: Headers) -> None:
    order = await get_json(ct_client, "/demo/orders/order-number=%44E%2D100001", admin)
    assert order["orderNumber"] == DEMO_ORDER_NUMBER


async def test_missing_order_is_resource_not_found(ct_client: Client, admin: Headers) -> None:
    body = await get_json(ct_client, "/demo/orders/4f1a0000-0000-4000-8000-000000000000", admin, status=404)
    message = "The Resource with ID '4f1a0000-0000-4000-8000-000000000000' was not found."
    assert body == {"statusCode": 404, "message": message, "errors": [{"code": "ResourceNotFound", "message": message}]}
    body = await get_json(ct_client, "/demo/orders/order-number=DE-999999", admin, status=404)
    assert body["errors"][0]["code"] == "ResourceNotFound"


async def test_foreign_store_order_answers_exactly_like_a_missing_one(
    ct_client: Client, admin: Headers, ct_dataset: Dataset
) -> None:
    us_order = _order(ct_dataset, US_ORDER_NUMBER)
    foreign = await get_json(ct_client, f"/demo/in-store/key=de-store/orders/{us_order['id']}", admin, status=404)
    missing_id = us_order["id"][:-4] + "0000"
    missing = await get_json(ct_client, f"/demo/in-store/key=de-store/orders/{missing_id}", admin, status=404)
    # Same body but for the id it names: nothing tells a foreign order from a missing one.
    assert msgspec.json.encode(foreign).replace(us_order["id"].encode(), b"<id>") == msgspec.json.encode(
        missing
    ).replace(missing_id.encode(), b"<id>")
    by_number = await get_json(
        ct_client, f"/demo/in-store/key=de-store/orders/order-number={US_ORDER_NUMBER}", admin, status=404
    )
    assert by_number["message"] == f"The Resource with key '{US_ORDER_NUMBER}' was not found."


async def test_in_store_queries_see_only_that_store(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    page = await get_json(ct_client, "/demo/in-store/key=jp-store/orders", admin, {"limit": 500})
    jp_orders = [o for o in ct_dataset.orders.values() if o["store"]["key"] == "jp-store"]
    assert page["total"] == len(jp_orders)
    assert {o["store"]["key"] for o in page["results"]} == {"jp-store"}
    page = await get_json(
        ct_client, "/demo/in-store/key=jp-store/orders", admin, {"where": f'orderNumber = "{DEMO_ORDER_NUMBER}"'}
    )
    assert page["results"] == []


async def test_in_store_customers_include_global_ones_and_exclude_other_stores(
    ct_client: Client, admin: Headers, ct_dataset: Dataset
) -> None:
    (global_customer,) = ct_dataset.customers_with_email(GLOBAL_CUSTOMER_EMAIL)
    assert global_customer["stores"] == []
    for store in ("de-store", "us-store", "jp-store"):
        await get_json(ct_client, f"/demo/in-store/key={store}/customers/{global_customer['id']}", admin)
    shared = {c["stores"][0]["key"]: c for c in ct_dataset.customers_with_email(SHARED_EMAIL)}
    await get_json(ct_client, f"/demo/in-store/key=de-store/customers/{shared['us-store']['id']}", admin, status=404)
    page = await get_json(
        ct_client, "/demo/in-store/key=de-store/customers", admin, {"where": "email = :e", "var.e": SHARED_EMAIL}
    )
    assert [c["id"] for c in page["results"]] == [shared["de-store"]["id"]]
    page = await get_json(ct_client, "/demo/in-store/key=de-store/customers", admin, {"limit": 500})
    assert all(not c["stores"] or c["stores"][0]["key"] == "de-store" for c in page["results"])
    assert any(not c["stores"] for c in page["results"])


async def test_customers_are_found_by_exact_email_across_stores(ct_client: Client, admin: Headers) -> None:
    page = await get_json(ct_client, "/demo/customers", admin, {"where": f'email = "{SHARED_EMAIL}"'})
    assert page["total"] == 2
    assert {c["stores"][0]["key"] for c in page["results"]} == {"de-store", "us-store"}
    # Exact compare: commercetools does not fold case in query predicates.
    page = await get_json(ct_client, "/demo/customers", admin, {"where": f'email = "{SHARED_EMAIL.upper()}"'})
    assert page["total"] == 0


async def test_customers_keep_the_password_hash_field_like_commercetools(
    ct_client: Client, admin: Headers, ct_dataset: Dataset
) -> None:
    customer = next(iter(ct_dataset.customers.values()))
    body = await get_json(ct_client, f"/demo/customers/{customer['id']}", admin)
    assert body["password"].startswith("****")


async def test_payments_by_id_and_by_query(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    payment_id = order["paymentInfo"]["payments"][0]["id"]
    payment = await get_json(ct_client, f"/demo/payments/{payment_id}", admin)
    assert [(t["type"], t["state"]) for t in payment["transactions"]] == [
        ("Authorization", "Success"),
        ("Charge", "Success"),
    ]
    page = await get_json(
        ct_client, "/demo/payments", admin, {"where": 'transactions(type = "Refund" and state = "Initial")'}
    )
    assert page["total"] > 0
    assert all(
        any(t["type"] == "Refund" and t["state"] == "Initial" for t in p["transactions"]) for p in page["results"]
    )


@pytest.mark.parametrize(
    ("path", "type_id"),
    [
        ("stores", "store"),
        ("states", "state"),
        ("types", "type"),
        ("shipping-methods", "shipping-method"),
        ("customer-groups", "customer-group"),
        ("channels", "channel"),
        ("discount-codes", "discount-code"),
    ],
)
async def test_reference_data_by_id_and_by_query(
    ct_client: Client, admin: Headers, ct_dataset: Dataset, path: str, type_id: str
) -> None:
    for resource in ct_dataset.collection(type_id).values():
        assert await get_json(ct_client, f"/demo/{path}/{resource['id']}", admin) == resource
    page = await get_json(ct_client, f"/demo/{path}", admin, {"limit": 500})
    assert page["total"] == len(ct_dataset.collection(type_id))


async def test_stores_and_types_by_key(ct_client: Client, admin: Headers) -> None:
    store = await get_json(ct_client, "/demo/stores/key=jp-store", admin)
    assert store["custom"]["fields"]["currency"] == "JPY"
    order_type = await get_json(ct_client, "/demo/types/key=order-support", admin)
    assert "novomindTicketId" in [field["name"] for field in order_type["fieldDefinitions"]]
    await get_json(ct_client, "/demo/stores/key=mars-store", admin, status=404)


async def test_states_are_queryable_by_type(ct_client: Client, admin: Headers) -> None:
    page = await get_json(ct_client, "/demo/states", admin, {"where": 'type = "LineItemState"', "limit": 500})
    keys = {state["key"] for state in page["results"]}
    assert {"Initial", "picked", "packed", "shipped", "delivered", "returned"} <= keys
    assert all(state["type"] == "LineItemState" for state in page["results"])


# -- queries ---------------------------------------------------------------------------------------


async def test_where_with_input_variables(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    page = await get_json(
        ct_client, "/demo/orders", admin, {"where": "customerEmail = :email", "var.email": SHARED_EMAIL, "limit": 500}
    )
    expected = {o["id"] for o in ct_dataset.orders_with_email(SHARED_EMAIL)}
    assert {o["id"] for o in page["results"]} == expected
    assert any("customerId" not in o for o in page["results"])  # guest orders with the same address


async def test_repeated_var_is_a_list_for_in(ct_client: Client, admin: Headers) -> None:
    params = [
        ("where", "orderNumber in :numbers"),
        ("var.numbers", DEMO_ORDER_NUMBER),
        ("var.numbers", JP_ORDER_NUMBER),
    ]
    page = await get_json(ct_client, "/demo/orders", admin, params)
    assert sorted(o["orderNumber"] for o in page["results"]) == sorted([DEMO_ORDER_NUMBER, JP_ORDER_NUMBER])


async def test_repeated_where_is_anded(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    params = [("where", 'store(key = "de-store")'), ("where", 'orderState = "Cancelled"'), ("limit", "500")]
    page = await get_json(ct_client, "/demo/orders", admin, params)
    expected = [
        o for o in ct_dataset.orders.values() if o["store"]["key"] == "de-store" and o["orderState"] == "Cancelled"
    ]
    assert page["total"] == len(expected) > 0


async def test_missing_input_variable_is_invalid_input(ct_client: Client, admin: Headers) -> None:
    body = await get_json(ct_client, "/demo/orders", admin, {"where": "orderNumber = :n"}, status=400)
    assert body["errors"][0]["code"] == "InvalidInput"


async def test_malformed_where_is_invalid_input(ct_client: Client, admin: Headers) -> None:
    body = await get_json(ct_client, "/demo/orders", admin, {"where": 'orderNumber = "x" and'}, status=400)
    assert body["statusCode"] == 400
    assert body["errors"][0]["code"] == "InvalidInput"
    assert body["message"].startswith("Malformed parameter: where: ")


async def test_raw_where_with_or_is_evaluated_as_written(
    ct_client: Client, admin: Headers, ct_dataset: Dataset
) -> None:
    # A client that pastes user input into `where` unquoted gets exactly what the predicate says.
    page = await get_json(
        ct_client, "/demo/orders", admin, {"where": 'orderNumber = "x" or id is defined or orderNumber = ""'}
    )
    assert page["total"] == len(ct_dataset.orders)


async def test_input_variables_cannot_inject_predicates(ct_client: Client, admin: Headers) -> None:
    page = await get_json(
        ct_client,
        "/demo/orders",
        admin,
        {"where": "orderNumber = :n", "var.n": 'x" or id is defined or orderNumber="'},
    )
    assert page["total"] == 0


@pytest.mark.parametrize(
    ("where", "number"),
    [
        (f'custom(fields(novomindTicketId = "{DEMO_TICKET_ID}"))', DEMO_ORDER_NUMBER),
        ('lineItems(variant(sku = "SCREW-A2-4X30"))', HIGH_PRECISION_ORDER_NUMBER),
    ],
)
async def test_nested_predicates(ct_client: Client, admin: Headers, where: str, number: str) -> None:
    page = await get_json(ct_client, "/demo/orders", admin, {"where": where})
    assert [o["orderNumber"] for o in page["results"]] == [number]


async def test_nested_predicates_through_arrays(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    payment_id = order["paymentInfo"]["payments"][0]["id"]
    page = await get_json(ct_client, "/demo/orders", admin, {"where": f'paymentInfo(payments(id = "{payment_id}"))'})
    assert [o["orderNumber"] for o in page["results"]] == [DEMO_ORDER_NUMBER]
    tracking = order["shippingInfo"]["deliveries"][1]["parcels"][0]["trackingData"]["trackingId"]
    where = f'shippingInfo(deliveries(parcels(trackingData(trackingId = "{tracking}"))))'
    page = await get_json(ct_client, "/demo/orders", admin, {"where": where})
    assert [o["orderNumber"] for o in page["results"]] == [DEMO_ORDER_NUMBER]


async def test_sort_limit_offset_and_total(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    newest_first = sorted(ct_dataset.orders.values(), key=lambda o: o["createdAt"], reverse=True)
    first = await get_json(ct_client, "/demo/orders", admin, {"sort": "createdAt desc", "limit": 5})
    assert (first["limit"], first["offset"], first["count"], first["total"]) == (5, 0, 5, len(ct_dataset.orders))
    assert [o["id"] for o in first["results"]] == [o["id"] for o in newest_first[:5]]
    second = await get_json(ct_client, "/demo/orders", admin, {"sort": "createdAt desc", "limit": 5, "offset": 5})
    assert [o["id"] for o in second["results"]] == [o["id"] for o in newest_first[5:10]]
    assert list(first) == ["limit", "offset", "count", "total", "results"]


async def test_default_limit_is_20_and_without_total_omits_it(ct_client: Client, admin: Headers) -> None:
    page = await get_json(ct_client, "/demo/orders", admin, {"withTotal": "false"})
    assert page["limit"] == 20
    assert page["count"] == 20
    assert "total" not in page


async def test_multiple_sorts_and_nested_sort_paths(ct_client: Client, admin: Headers) -> None:
    params = [("sort", "orderState asc"), ("sort", "totalPrice.centAmount desc"), ("limit", "500")]
    page = await get_json(ct_client, "/demo/orders", admin, params)
    keys = [(o["orderState"], -o["totalPrice"]["centAmount"]) for o in page["results"]]
    assert keys == sorted(keys)


async def test_id_cursor_paging_sees_every_order_once(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    seen: list[str] = []
    last = ""
    for _ in range(len(ct_dataset.orders) // 200 + 2):  # one page more than there can be
        page = await get_json(
            ct_client,
            "/demo/orders",
            admin,
            {"where": f'id > "{last}"', "sort": "id asc", "limit": 200, "withTotal": "false"},
        )
        if not page["results"]:
            break
        seen.extend(o["id"] for o in page["results"])
        last = seen[-1]
    else:
        raise AssertionError("paging by id never ended")
    assert seen == sorted(ct_dataset.orders)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "501"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"offset": "10001"},
        {"withTotal": "maybe"},
        {"sort": "createdAt sideways"},
        {"sort": "createdAt"},
    ],
)
async def test_bad_paging_parameters_are_invalid_input(
    ct_client: Client, admin: Headers, params: dict[str, str]
) -> None:
    body = await get_json(ct_client, "/demo/orders", admin, params, status=400)
    assert body["errors"][0]["code"] == "InvalidInput"


async def test_limit_500_and_offset_10000_are_allowed(ct_client: Client, admin: Headers) -> None:
    page = await get_json(ct_client, "/demo/orders", admin, {"limit": "500", "offset": "10000"})
    assert page["results"] == []


# -- expansion -------------------------------------------------------------------------------------


async def test_expansion_embeds_referenced_resources_as_obj(
    ct_client: Client, admin: Headers, ct_dataset: Dataset
) -> None:
    expand = [
        "paymentInfo.payments[*]",
        "shippingInfo.shippingMethod",
        "customerGroup",
        "state",
        "lineItems[*].state[*].state",
        "customLineItems[*].state[*].state",
        "custom.type",
        "store",
        "no.such[*].path",
    ]
    order = await get_json(ct_client, f"/demo/orders/order-number={DEMO_ORDER_NUMBER}", admin, {"expand": expand})
    payment = order["paymentInfo"]["payments"][0]
    assert payment["obj"] == ct_dataset.payments[payment["id"]]
    assert order["shippingInfo"]["shippingMethod"]["obj"]["key"] == "dhl-standard"
    assert order["customerGroup"]["obj"]["key"] == "vip"
    assert order["state"]["obj"]["key"] == "order-fulfillment"
    assert [s["state"]["obj"]["key"] for s in order["lineItems"][0]["state"]] == ["delivered", "shipped"]
    assert order["customLineItems"][0]["state"][0]["state"]["obj"]["key"] == "Initial"
    assert order["custom"]["type"]["obj"]["key"] == "order-support"
    # KeyReferences cannot be expanded.
    assert order["store"] == {"typeId": "store", "key": "de-store"}
    # The stored order is untouched.
    assert "obj" not in _order(ct_dataset, DEMO_ORDER_NUMBER)["paymentInfo"]["payments"][0]


async def test_expansion_on_queries_and_discount_codes(ct_client: Client, admin: Headers) -> None:
    page = await get_json(
        ct_client,
        "/demo/orders",
        admin,
        {"where": f'orderNumber = "{US_ORDER_NUMBER}"', "expand": "discountCodes[*].discountCode"},
    )
    (order,) = page["results"]
    assert order["discountCodes"][0]["discountCode"]["obj"]["code"] == "SUMMER15"


async def test_customer_group_expands_on_customers(ct_client: Client, admin: Headers, ct_dataset: Dataset) -> None:
    customer = next(c for c in ct_dataset.customers.values() if "customerGroup" in c)
    body = await get_json(ct_client, f"/demo/customers/{customer['id']}", admin, {"expand": "customerGroup"})
    assert body["customerGroup"]["obj"]["id"] == customer["customerGroup"]["id"]


# -- protocol details ------------------------------------------------------------------------------


async def test_correlation_id_is_echoed_or_generated(ct_client: Client, admin: Headers) -> None:
    response = await ct_client.get("/demo/stores", headers={**admin, "X-Correlation-ID": "ticket-4711"})
    assert response.headers["x-correlation-id"] == "ticket-4711"
    response = await ct_client.get("/demo/stores", headers=admin)
    assert response.headers["x-correlation-id"].startswith("projects-demo-")
    for failing in (await ct_client.get("/demo/stores"), await ct_client.get("/demo/carts", headers=admin)):
        assert failing.headers["x-correlation-id"].startswith("projects-demo-")


async def test_unknown_routes_and_methods_answer_in_commercetools_shape(ct_client: Client, admin: Headers) -> None:
    body = await get_json(ct_client, "/demo/carts", admin, status=404)
    assert body["errors"][0]["code"] == "ResourceNotFound"
    response = await ct_client.delete("/oauth/token")
    assert response.status_code == 405
    assert response.json()["statusCode"] == 405


async def test_responses_are_plain_json(ct_client: Client, admin: Headers) -> None:
    response = await ct_client.get(f"/demo/orders/order-number={DEMO_ORDER_NUMBER}", headers=admin)
    assert response.headers["content-type"].startswith("application/json")
    msgspec.json.decode(response.content)
