"""The query-predicate parser and evaluator, without HTTP."""

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sandbox.commercetools.predicates import (
    MAX_NESTING,
    And,
    Compare,
    Defined,
    Empty,
    In,
    Input,
    Nested,
    Not,
    Or,
    PredicateInputError,
    PredicateSyntaxError,
    Variable,
    bind_variables,
    evaluate,
    parse_predicate,
    quote,
)

ORDER: dict[str, Any] = {
    "id": "o-1",
    "orderNumber": "DE-100001",
    "version": 7,
    "customerEmail": "Anna.Schmidt@example.com",
    "isGift": True,
    "createdAt": "2026-05-25T20:52:48.123Z",
    "store": {"typeId": "store", "key": "de-store"},
    "paymentInfo": {"payments": [{"typeId": "payment", "id": "p-1"}, {"typeId": "payment", "id": "p-2"}]},
    "lineItems": [
        {"variant": {"sku": "TSHIRT"}, "quantity": 3, "name": {"en": "T-Shirt", "de-CH": "Leibchen"}},
        {"variant": {"sku": "BOOK"}, "quantity": 1, "name": {"en": "Book"}},
    ],
    "shippingInfo": {"deliveries": [{"parcels": [{"trackingData": {"trackingId": "1Z999", "isReturn": False}}]}]},
    "custom": {"fields": {"novomindTicketId": "T-1"}},
    "returnInfo": [],
    "tags": ["gift", "vip"],
    "paymentState": None,
}


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('orderNumber = "DE-1"', Compare("orderNumber", "=", "DE-1")),
        ("version >= 3", Compare("version", ">=", 3)),
        ("amount < -1.5e2", Compare("amount", "<", -150.0)),
        ("isGift != false", Compare("isGift", "!=", False)),
        ("isGift <> true", Compare("isGift", "<>", True)),
        ("id = :id", Compare("id", "=", Variable("id"))),
        ('orderNumber in ("a", "b")', In("orderNumber", ("a", "b"))),
        ("orderNumber not in :numbers", In("orderNumber", Variable("numbers"), negated=True)),
        ("shipmentState is defined", Defined("shipmentState")),
        ("shipmentState is not defined", Defined("shipmentState", negated=True)),
        ("returnInfo is not empty", Empty("returnInfo", negated=True)),
        ('store(key = "de")', Nested("store", Compare("key", "=", "de"))),
        ('name(de-CH = "x")', Nested("name", Compare("de-CH", "=", "x"))),
        ("not(a = 1)", Not(Compare("a", "=", 1))),
        (
            "a = 1 or b = 2 and c = 3",
            Or((Compare("a", "=", 1), And((Compare("b", "=", 2), Compare("c", "=", 3))))),
        ),
        (
            "(a = 1 or b = 2) and c = 3",
            And((Or((Compare("a", "=", 1), Compare("b", "=", 2))), Compare("c", "=", 3))),
        ),
        (
            'paymentInfo(payments(id = "p"))',
            Nested("paymentInfo", Nested("payments", Compare("id", "=", "p"))),
        ),
        ('a = "quote \\" and \\\\ backslash \\u00e9"', Compare("a", "=", 'quote " and \\ backslash é')),
        ('  a="x"  ', Compare("a", "=", "x")),
    ],
)
def test_parse_trees(text: str, tree: object) -> None:
    assert parse_predicate(text) == tree


def test_injection_attempt_as_raw_where_parses_as_the_or_it_is() -> None:
    assert parse_predicate('orderNumber = "x" or id is defined or orderNumber = ""') == Or(
        (Compare("orderNumber", "=", "x"), Defined("id"), Compare("orderNumber", "=", ""))
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "orderNumber",
        "orderNumber =",
        'orderNumber == "x"',
        'orderNumber = "x" and',
        'orderNumber = "unterminated',
        'orderNumber = "x" orderState = "Open"',
        "(a = 1",
        "a = 1)",
        'a in ("x",)',
        "a in ()",
        "a is",
        "a is maybe",
        "a = x",
        "a ilike 'x'",
        'a = "bad escape \\q"',
        'a = "\\u12"',
        "a = 1.",
        "a = 12abc",
        ": = 1",
        "a = :",
        "and = 1",
        "not a = 1",
        "a ~ 1",
    ],
)
def test_malformed_predicates_are_syntax_errors(text: str) -> None:
    with pytest.raises(PredicateSyntaxError) as raised:
        parse_predicate(text)
    assert str(raised.value).startswith("Syntax error while parsing 'where'. ")
    assert str(raised.value).endswith(f"):{text}")


def test_syntax_errors_point_at_line_and_column() -> None:
    with pytest.raises(PredicateSyntaxError, match=r"\(line 2, column 7\)"):
        parse_predicate("a = 1\nand b ! 2")


def test_nesting_is_bounded() -> None:
    deep = "a(" * (MAX_NESTING + 5) + "b = 1" + ")" * (MAX_NESTING + 5)
    with pytest.raises(PredicateSyntaxError, match="nested too deeply"):
        parse_predicate(deep)
    with pytest.raises(PredicateSyntaxError):
        parse_predicate("(" * 5000 + "a = 1" + ")" * 5000)


def _matches(text: str, variables: dict[str, list[str]] | None = None) -> bool:
    return evaluate(bind_variables(parse_predicate(text), variables or {}), ORDER)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('orderNumber = "DE-100001"', True),
        ('customerEmail = "anna.schmidt@example.com"', False),  # exact, case-sensitive
        ('customerEmail = "Anna.Schmidt@example.com"', True),
        ("version = 7", True),
        ("version = 7.0", True),
        ('version = "7"', False),  # no type coercion for literals
        ("version > 6 and version < 8", True),
        ("version >= 8", False),
        ("isGift = true", True),
        ("isGift = 1", False),
        ('createdAt > "2026-05-01T00:00:00.000Z"', True),
        ('createdAt < "2026-05-01T00:00:00.000Z"', False),
        ('store(key = "de-store")', True),
        ('store(key = "us-store")', False),
        ('paymentInfo(payments(id = "p-2"))', True),
        ('lineItems(variant(sku = "BOOK"))', True),
        ('lineItems(variant(sku = "BOOK") and quantity = 3)', False),  # one element must match it all
        ('lineItems(name(de-CH = "Leibchen"))', True),
        ('shippingInfo(deliveries(parcels(trackingData(trackingId = "1Z999"))))', True),
        ('custom(fields(novomindTicketId = "T-1"))', True),
        ('orderNumber in ("x", "DE-100001")', True),
        ('orderNumber not in ("x", "DE-100001")', False),
        ('missing not in ("x")', False),
        ('tags = "vip"', True),
        ('tags in ("nope", "gift")', True),
        ("paymentState is defined", False),  # null is undefined
        ("paymentState is not defined", True),
        ("shipmentState is not defined", True),
        ("returnInfo is empty", True),
        ("lineItems is not empty", True),
        ('missing = "x"', False),
        ('missing != "x"', False),
        ('orderNumber != "x"', True),
        ('not(orderNumber = "x")', True),
        ('store = "de-store"', False),  # an object is not a value
        ("store(missing(key = 1))", False),
    ],
)
def test_evaluation(text: str, expected: bool) -> None:
    assert _matches(text) is expected


def test_inputs_take_the_type_of_the_field() -> None:
    assert _matches("version = :v", {"v": ["7"]})
    assert _matches("isGift = :g", {"g": ["true"]})
    assert not _matches("isGift = :g", {"g": ["yes"]})
    assert _matches("orderNumber in :n", {"n": ["x", "DE-100001"]})
    assert _matches("version in :v", {"v": ["1", "7"]})


def test_inputs_are_values_never_predicates() -> None:
    text = 'x" or id is defined or orderNumber="'
    bound = bind_variables(parse_predicate("orderNumber = :n"), {"n": [text]})
    assert bound == Compare("orderNumber", "=", Input(text))
    assert not evaluate(bound, ORDER)


def test_missing_and_ambiguous_inputs_are_rejected() -> None:
    with pytest.raises(PredicateInputError, match="Missing value for input variable ':n'"):
        bind_variables(parse_predicate("orderNumber = :n"), {})
    with pytest.raises(PredicateInputError, match="Missing value"):
        bind_variables(parse_predicate("orderNumber in :n"), {"other": ["x"]})
    with pytest.raises(PredicateInputError, match="several values"):
        bind_variables(parse_predicate("orderNumber = :n"), {"n": ["a", "b"]})


def test_binding_reaches_every_branch() -> None:
    tree = parse_predicate('not(a = :x) or b(c in (:y, "z")) and d is defined')
    bound = bind_variables(tree, {"x": ["1"], "y": ["2"]})
    assert bound == Or(
        (
            Not(Compare("a", "=", Input("1"))),
            And((Nested("b", In("c", (Input("2"), "z"))), Defined("d"))),
        )
    )


# -- properties ------------------------------------------------------------------------------------


@given(st.text())
def test_quoted_strings_round_trip(value: str) -> None:
    assert parse_predicate(f"orderNumber = {quote(value)}") == Compare("orderNumber", "=", value)


@given(st.text(), st.text())
def test_quoted_strings_never_change_the_parse_structure(first: str, second: str) -> None:
    text = f"customerEmail = {quote(first)} and (orderNumber in ({quote(second)}, {quote(first)}) or id is defined)"
    assert parse_predicate(text) == And(
        (
            Compare("customerEmail", "=", first),
            Or((In("orderNumber", (second, first)), Defined("id"))),
        )
    )


@given(st.text())
def test_a_quoted_value_matches_exactly_itself(value: str) -> None:
    predicate = parse_predicate(f"orderNumber = {quote(value)}")
    assert evaluate(predicate, {"orderNumber": value})
    assert not evaluate(predicate, {"orderNumber": value + "x"})
    assert not evaluate(predicate, {"id": "o-1"})


@given(st.text())
def test_any_input_value_matches_only_itself(value: str) -> None:
    predicate = bind_variables(parse_predicate("orderNumber = :n"), {"n": [value]})
    assert evaluate(predicate, {"orderNumber": value})
    assert not evaluate(predicate, {"orderNumber": value + "'"})


@given(st.text(max_size=60))
def test_the_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(PredicateSyntaxError):
        parse_predicate(text)
