"""Predicate templates, OrderQuery validation and the exact query parameters sent."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.commercetools.queries import ORDER_EXPANSIONS, CustomFieldPredicate, OrderQuery, Predicate, query_params


@pytest.mark.parametrize(
    ("predicate", "variables"),
    [
        (Predicate.ORDERS_BY_CUSTOMER_EMAIL, {"email"}),
        (Predicate.ORDERS_BY_CUSTOMER_EMAILS, {"emails"}),
        (Predicate.ORDERS_BY_CUSTOMER_ID, {"customerId"}),
        (Predicate.ORDERS_BY_ORDER_NUMBER, {"orderNumber"}),
        (Predicate.CUSTOMERS_BY_EMAILS, {"emails"}),
        (Predicate.CUSTOMERS_BY_PHONES, {"phones"}),  # ":phones)" inside a nested predicate
    ],
)
def test_predicate_variables(predicate: Predicate, variables: set[str]) -> None:
    assert predicate.variables == frozenset(variables)


def test_every_predicate_names_each_placeholder() -> None:
    for predicate in Predicate:
        # The parser's answer agrees with an independent reading of the template's ":name" placeholders.
        assert predicate.variables == frozenset(re.findall(r":([A-Za-z][A-Za-z0-9]*)", predicate.value))
        assert predicate.variables, predicate
        # A template is fixed text: no quotes, so nothing can be spliced into a string literal.
        assert '"' not in predicate.value
        assert "'" not in predicate.value


@pytest.mark.parametrize(
    ("predicate", "variables"),
    [
        (Predicate.ORDERS_BY_CUSTOMER_EMAIL, {}),
        (Predicate.ORDERS_BY_CUSTOMER_EMAIL, {"customerEmail": "a@example.com"}),
        (Predicate.ORDERS_BY_CUSTOMER_EMAIL, {"email": "a@example.com", "customerId": "c"}),
        (Predicate.ORDERS_BY_CUSTOMER_ID, {"email": "a@example.com"}),
        (Predicate.ORDERS_BY_ORDER_NUMBER, {"ordernumber": "1"}),
    ],
)
def test_order_query_rejects_wrong_variables(predicate: Predicate, variables: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=predicate.name):
        OrderQuery(predicate=predicate, variables=variables)


@pytest.mark.parametrize("limit", [0, -1, 501, 10_000])
def test_order_query_rejects_limit_outside_1_to_500(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": "c"}, limit=limit)


@pytest.mark.parametrize("limit", [1, 20, 500])
def test_order_query_accepts_limit_within_1_to_500(limit: int) -> None:
    query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": "c"}, limit=limit)
    assert query.limit == limit


def test_query_params_defaults_in_order() -> None:
    query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_EMAIL, variables={"email": "jane@example.com"})
    assert query_params(query) == [
        ("where", "customerEmail = :email"),
        ("var.email", "jane@example.com"),
        ("sort", "createdAt desc"),
        ("limit", "20"),
        ("withTotal", "false"),
    ]


def test_query_params_with_sorts_limit_and_expansions_in_order() -> None:
    query = OrderQuery(
        predicate=Predicate.ORDERS_BY_ORDER_NUMBER,
        variables={"orderNumber": "10001"},
        sort=("createdAt desc", "id asc"),
        limit=500,
        expand=("paymentInfo.payments[*]", "shippingInfo.shippingMethod"),
    )
    assert query_params(query) == [
        ("where", "orderNumber = :orderNumber"),
        ("var.orderNumber", "10001"),
        ("sort", "createdAt desc"),
        ("sort", "id asc"),
        ("limit", "500"),
        ("withTotal", "false"),
        ("expand", "paymentInfo.payments[*]"),
        ("expand", "shippingInfo.shippingMethod"),
    ]


def test_list_variables_repeat_the_var_parameter_in_order() -> None:
    query = OrderQuery(
        predicate=Predicate.ORDERS_BY_CUSTOMER_EMAILS, variables={"emails": ("Jane@Example.com", "jane@example.com")}
    )
    assert query_params(query)[:3] == [
        ("where", "customerEmail in :emails"),
        ("var.emails", "Jane@Example.com"),
        ("var.emails", "jane@example.com"),
    ]


def test_with_total_is_false_unless_asked_for() -> None:
    default = query_params(OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": "c"}))
    asked = query_params(
        OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": "c"}, with_total=True)
    )
    assert [v for k, v in default if k == "withTotal"] == ["false"]
    assert [v for k, v in asked if k == "withTotal"] == ["true"]


def test_order_expansions_are_expandable_references() -> None:
    # KeyReferences (store, businessUnit) cannot be expanded; asking for them is an error upstream.
    assert not {"store", "businessUnit"} & set(ORDER_EXPANSIONS)
    assert "paymentInfo.payments[*]" in ORDER_EXPANSIONS
    assert len(set(ORDER_EXPANSIONS)) == len(ORDER_EXPANSIONS)


@given(
    predicate=st.sampled_from(list(Predicate)),
    value=st.text(max_size=80) | st.tuples(st.text(max_size=40)) | st.tuples(st.text(max_size=40), st.text()),
)
def test_caller_text_never_becomes_part_of_where(predicate: Predicate, value: str | tuple[str, ...]) -> None:
    (name,) = predicate.variables
    params = query_params(OrderQuery(predicate=predicate, variables={name: value}))
    values = [value] if isinstance(value, str) else list(value)
    assert [v for k, v in params if k == "where"] == [predicate.value]
    assert [v for k, v in params if k.startswith("var.")] == values
    assert [k for k, _ in params] == ["where", *[f"var.{name}"] * len(values), "sort", "limit", "withTotal"]


def test_empty_list_variable_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        OrderQuery(predicate=Predicate.CUSTOMERS_BY_EMAILS, variables={"emails": ()})


# -- custom-field predicates: a field name from configuration becomes predicate text -----------------


@pytest.mark.parametrize(
    "field",
    [
        "x) or (id is defined",  # closes the field, adds an always-true clause, reopens
        "novomindTicketId or id is defined",
        "ticket = :value) or (id",
        "ticket\n",  # a trailing newline: `$` would accept it, a full match does not
        "a" * 65,
        "1ticket",
        "_ticket",
        "ticket-id",
        "tïcket",
        "",
    ],
)
def test_a_custom_field_predicate_refuses_a_field_name_that_is_not_an_identifier(field: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        CustomFieldPredicate(field)


@given(field=st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,63}", fullmatch=True))
def test_a_custom_field_predicate_names_an_identifier_field_and_nothing_else(field: str) -> None:
    predicate = CustomFieldPredicate(field)
    assert predicate.value == f"custom(fields({field} = :value))"
    assert predicate.variables == frozenset({"value"})


@given(field=st.text(min_size=1, max_size=80))
def test_a_custom_field_predicate_never_carries_predicate_syntax(field: str) -> None:
    try:
        predicate = CustomFieldPredicate(field)
    except ValueError:
        return
    inner = predicate.value.removeprefix("custom(fields(").removesuffix(" = :value))")
    assert inner == field
    assert re.fullmatch(r"[A-Za-z0-9_]+", inner), f"{field!r} reached the predicate text"
