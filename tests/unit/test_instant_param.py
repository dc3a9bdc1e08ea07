"""`since`/`until`: a date-time with an offset (RFC 3339) or a 422 naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api.params import parse_instant
from app.errors import InvalidInputError

_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@given(st.datetimes(timezones=_OFFSETS))
def test_every_date_time_with_an_offset_is_read_as_that_instant(moment: datetime) -> None:
    assert parse_instant("since", moment.isoformat()) == moment


@given(st.integers())
def test_a_number_is_never_taken_for_a_time(number: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_instant("until", str(number))
    assert caught.value.parameter == "until"


@pytest.mark.parametrize("text", ["2026-01-15", "2026-01-15T09:30:00", "1.5", "", "yesterday", "2026-13-01T00:00:00Z"])
def test_a_date_a_naive_time_or_words_are_invalid(text: str) -> None:
    with pytest.raises(InvalidInputError, match="time zone"):
        parse_instant("since", text)


def test_absent_is_no_bound() -> None:
    assert parse_instant("since", None) is None
    assert parse_instant("since", "2026-01-15T09:30:00Z") == datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
