"""The signed widget context: any change to any parameter or to the signature invalidates it."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.widget.context import (
    CONTEXT_KEYS,
    ContextRejectedError,
    WidgetContext,
    canonical_query,
    sign,
    signed_query,
    verify,
)

SECRET = "s" * 40
NOW = 1_800_000_000
TTL = 3600


def _params(**extra: str) -> dict[str, str]:
    return {"agentId": "agent-7", "role": "agent", "exp": str(NOW + 600), "ticketId": "4711", **extra}


def _pairs(query: str) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(query, keep_blank_values=True)


def _verify(query: str, *, now: float = NOW, secret: str = SECRET) -> WidgetContext:
    return verify(_pairs(query), secret=secret, now=now, max_ttl_seconds=TTL)


def test_the_contract_example_round_trips() -> None:
    context = verify(
        _pairs(signed_query(_params(contactEmail="a+b@example.com", locale="de-DE"), SECRET)),
        secret=SECRET,
        now=NOW,
        max_ttl_seconds=TTL,
    )
    assert context == verify(
        _pairs(signed_query(_params(locale="de-DE", contactEmail="a+b@example.com"), SECRET)),
        secret=SECRET,
        now=NOW,
        max_ttl_seconds=TTL,
    )
    assert context.contact_email == "a+b@example.com"
    assert context.locale == "de-DE"


def test_the_signed_bytes_are_pythons_sorted_urlencode_with_quote() -> None:
    params = {"role": "agent", "agentId": "a b", "contactEmail": "x+y@z.de", "exp": "1"}
    assert canonical_query(params) == "agentId=a%20b&contactEmail=x%2By%40z.de&exp=1&role=agent"
    # A fixed vector the Java-side plugin author can check against (docs/widget.md).
    assert sign(params, SECRET) == sign(dict(sorted(params.items())), SECRET)


_values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20)


@given(key=st.sampled_from(sorted(CONTEXT_KEYS - {"exp"})), value=_values)
def test_changing_any_parameter_invalidates(key: str, value: str) -> None:
    params = _params(processId="P-1", orderNumber="100", contactEmail="a@b.c", locale="en", contactExternalId="c1")
    query = signed_query(params, SECRET)
    sig = query.rsplit("sig=", 1)[1]
    changed = {**params, key: value}
    if changed == params:
        return
    with pytest.raises(ContextRejectedError):
        verify([*changed.items(), ("sig", sig)], secret=SECRET, now=NOW, max_ttl_seconds=TTL)


@given(exp=st.integers(min_value=NOW + 1, max_value=NOW + TTL))
def test_changing_exp_invalidates(exp: int) -> None:
    params = _params()
    sig = sign(params, SECRET)
    if str(exp) == params["exp"]:
        return
    with pytest.raises(ContextRejectedError, match="signature"):
        verify([*{**params, "exp": str(exp)}.items(), ("sig", sig)], secret=SECRET, now=NOW, max_ttl_seconds=TTL)


@given(position=st.integers(min_value=0, max_value=63), digit=st.sampled_from("0123456789abcdefABCDEF"))
def test_changing_any_character_of_the_signature_invalidates(position: int, digit: str) -> None:
    params = _params()
    sig = sign(params, SECRET)
    tampered = sig[:position] + digit + sig[position + 1 :]
    if tampered == sig:
        return
    with pytest.raises(ContextRejectedError, match="signature"):
        verify([*params.items(), ("sig", tampered)], secret=SECRET, now=NOW, max_ttl_seconds=TTL)


def test_another_key_is_refused() -> None:
    with pytest.raises(ContextRejectedError, match="signature"):
        _verify(signed_query(_params(), "t" * 40))


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(ContextRejectedError, match="no signature"):
        _verify(canonical_query(_params()))


def test_an_added_parameter_is_refused_even_when_signed() -> None:
    with pytest.raises(ContextRejectedError, match="unknown parameter"):
        _verify(signed_query(_params(extra="1"), SECRET))


def test_a_repeated_parameter_is_refused() -> None:
    query = signed_query(_params(), SECRET)
    with pytest.raises(ContextRejectedError, match="more than once"):
        _verify(query + "&ticketId=9")


@pytest.mark.parametrize("missing", ["agentId", "role", "exp"])
def test_required_parameters(missing: str) -> None:
    params = _params()
    del params[missing]
    with pytest.raises(ContextRejectedError, match=f"{missing} is required"):
        _verify(signed_query(params, SECRET))


def test_at_least_one_subject() -> None:
    params = _params()
    del params["ticketId"]
    with pytest.raises(ContextRejectedError, match="no ticket, contact or order"):
        _verify(signed_query(params, SECRET))


def test_exp_boundaries() -> None:
    at = signed_query(_params(exp=str(NOW)), SECRET)
    with pytest.raises(ContextRejectedError, match="expired"):
        _verify(at)
    assert _verify(at, now=NOW - 1).expires_at == NOW
    furthest = signed_query(_params(exp=str(NOW + TTL)), SECRET)
    assert _verify(furthest).expires_at == NOW + TTL
    with pytest.raises(ContextRejectedError, match="longer than allowed"):
        _verify(signed_query(_params(exp=str(NOW + TTL + 1)), SECRET))


@pytest.mark.parametrize("exp", ["", "-5", "1e9", "12.5", "0x10", " 1800000100"])
def test_exp_must_be_unix_seconds(exp: str) -> None:
    with pytest.raises(ContextRejectedError):
        _verify(signed_query(_params(exp=exp), SECRET))


def test_reasons_never_carry_values() -> None:
    email = "secret.person@example.com"
    for query in (
        signed_query(_params(contactEmail=email, exp=str(NOW - 1)), SECRET),
        signed_query(_params(contactEmail=email), "t" * 40),
        signed_query(_params(contactEmail=email, bogus=email), SECRET),
    ):
        with pytest.raises(ContextRejectedError) as caught:
            _verify(query)
        assert email not in caught.value.reason


def test_the_worked_example_in_docs_is_true() -> None:
    """docs/widget.md is what the plugin author codes against: its example must verify."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "widget.md").read_text()
    params = {
        "ticketId": "4711",
        "agentId": "agent-7",
        "role": "agent",
        "exp": "1800000000",
        "contactEmail": "jane.doe+shop@example.com",
        "locale": "de-DE",
    }
    key = "0123456789abcdef0123456789abcdef"
    assert f"# {canonical_query(params)}\n" in text
    assert f"# {sign(params, key)}\n" in text
    assert f"`{key}`" in text
