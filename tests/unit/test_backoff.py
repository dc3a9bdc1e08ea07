"""RetryPolicy.backoff, parse_retry_after and Deadline as properties and tables, on fake clocks."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import formatdate

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.backoff import RETRIABLE_STATUSES, Deadline, RetryPolicy, parse_retry_after
from tests.unit.fakes import FakeClock

SECONDS = st.floats(min_value=0.001, max_value=60, allow_nan=False, allow_infinity=False)
NOW = 1_800_000_000.0  # a fixed wall-clock instant for HTTP-date arithmetic
LEAN = settings(max_examples=50)


def ceiling(policy: RetryPolicy, failures: int) -> float:
    return min(policy.cap_seconds, policy.base_seconds * 2.0 ** (failures - 1))


@st.composite
def policies(draw: st.DrawFn) -> RetryPolicy:
    return RetryPolicy(max_attempts=draw(st.integers(1, 10)), base_seconds=draw(SECONDS), cap_seconds=draw(SECONDS))


@LEAN
@given(policy=policies(), failures=st.integers(1, 100), seed=st.integers(0, 2**32))
def test_full_jitter_stays_within_zero_and_the_capped_exponential(
    policy: RetryPolicy, failures: int, seed: int
) -> None:
    delay = policy.backoff(failures, random.Random(seed))
    assert 0.0 <= delay <= ceiling(policy, failures)


@LEAN
@given(
    policy=policies(),
    failures=st.integers(1, 100),
    seed=st.integers(0, 2**32),
    retry_after=st.floats(0, 3600, allow_nan=False),
)
def test_retry_after_is_a_floor_with_at_most_one_base_of_jitter_on_top(
    policy: RetryPolicy, failures: int, seed: int, retry_after: float
) -> None:
    delay = policy.backoff(failures, random.Random(seed), retry_after)
    assert delay >= retry_after
    # The jitter on top of the floor is at most one base; the full-jitter draw may exceed the floor.
    assert delay <= max(retry_after, ceiling(policy, failures)) + policy.base_seconds


@LEAN
@given(policy=policies(), failures=st.integers(1, 100), seed=st.integers(0, 2**32), data=st.data())
def test_retry_after_at_or_above_the_ceiling_is_bounded_by_retry_after_plus_base(
    policy: RetryPolicy, failures: int, seed: int, data: st.DataObject
) -> None:
    top = ceiling(policy, failures)
    retry_after = data.draw(st.floats(top, top + 3600, allow_nan=False))
    delay = policy.backoff(failures, random.Random(seed), retry_after)
    assert retry_after <= delay <= retry_after + policy.base_seconds


def test_backoff_is_jittered_across_the_whole_range() -> None:
    policy = RetryPolicy(base_seconds=0.1, cap_seconds=2.0)
    rng = random.Random(1234)
    delays = [policy.backoff(5, rng) for _ in range(500)]  # ceiling min(2, 0.1 * 16) = 1.6
    assert max(delays) <= 1.6
    assert min(delays) < 0.16
    assert max(delays) > 1.44
    assert len(set(delays)) == 500


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    policy = RetryPolicy()
    first = [policy.backoff(n, random.Random(99)) for n in range(1, 8)]
    second = [policy.backoff(n, random.Random(99)) for n in range(1, 8)]
    assert first == second


def test_backoff_ceiling_doubles_until_the_cap() -> None:
    policy = RetryPolicy(base_seconds=0.1, cap_seconds=1.0)

    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert [policy.backoff(n, Top()) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_retriable_statuses_are_exactly_rate_limit_and_gateway_failures() -> None:
    assert frozenset({429, 502, 503, 504}) == RETRIABLE_STATUSES


# -- parse_retry_after ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", 0.0),
        ("7", 7.0),
        ("120", 120.0),
        (" 30 ", 30.0),
        (formatdate(NOW - 3600, usegmt=True), 0.0),  # in the past
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # RFC 9110's example, long past
        (formatdate(NOW + 90, usegmt=True), 90.0),
        (formatdate(NOW + 90.9, usegmt=True), 90.0),  # HTTP-dates have whole seconds
    ],
)
def test_parse_retry_after_table(header: str, expected: float | None) -> None:
    assert parse_retry_after(header, now=lambda: NOW) == expected


@pytest.mark.parametrize(
    "header",
    [
        "soon",
        "",
        "   ",
        "-5",
        "1.5",
        "1e3",
        "0x10",
        "Wed, 21 Oct 2015 07:28:00",  # no zone: naive, unusable
        formatdate(NOW + 90),  # "-0000" means "zone unknown" (RFC 5322): naive, unusable
        "Mon, 32 Oct 2015 07:28:00 GMT",  # no such day
    ],
)
def test_parse_retry_after_rejects_garbage(header: str) -> None:
    assert parse_retry_after(header, now=lambda: NOW) is None


def test_parse_retry_after_of_none_is_none() -> None:
    assert parse_retry_after(None) is None


def test_parse_retry_after_with_a_numeric_zone() -> None:
    # 09:00:30 +0100 is 08:00:30 UTC: thirty seconds after 08:00:00 UTC.
    now = datetime(2027, 1, 5, 8, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("Tue, 05 Jan 2027 09:00:30 +0100", now=lambda: now) == 30.0


@LEAN
@given(seconds=st.integers(0, 10**9))
def test_parse_retry_after_delta_seconds_roundtrip(seconds: int) -> None:
    assert parse_retry_after(str(seconds)) == float(seconds)


@LEAN
@given(offset=st.integers(-(10**6), 10**6))
def test_parse_retry_after_http_date_is_never_negative(offset: int) -> None:
    assert parse_retry_after(formatdate(NOW + offset, usegmt=True), now=lambda: NOW) == max(0.0, float(offset))


@pytest.mark.parametrize(
    "header",
    [
        "²",  # str.isdigit() says yes, float() says no (httpx decodes a Latin-1 byte 0xB2 header this way)
        "³",
        "①",
        "\u0663",  # ARABIC-INDIC DIGIT THREE: not an HTTP delta-seconds
        "Wed, 21 Oct 99999999999999999999 07:28:00 GMT",  # overflows the date arithmetic
        "Wed, 99999999999999999999 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 +99999999999999",
    ],
)
def test_parse_retry_after_of_unusable_values_is_none(header: str) -> None:
    assert parse_retry_after(header, now=lambda: NOW) is None


@LEAN
@given(header=st.text(max_size=40))
@example(header="Wed, 21 Oct 99999999999999999999 07:28:00 GMT")
def test_parse_retry_after_never_raises_and_never_returns_a_negative(header: str) -> None:
    parsed = parse_retry_after(header, now=lambda: NOW)
    assert parsed is None or parsed >= 0.0


# -- Deadline ---------------------------------------------------------------------------------


def test_deadline_counts_down_on_the_injected_clock() -> None:
    clock = FakeClock(start=500.0)
    deadline = Deadline(5.0, clock)
    assert deadline.remaining() == 5.0
    clock.advance(2.0)
    assert deadline.remaining() == 3.0
    clock.advance(10.0)
    assert deadline.remaining() == 0.0


def test_deadline_allows_only_what_fits_strictly() -> None:
    clock = FakeClock()
    deadline = Deadline(3.0, clock)
    assert deadline.allows(2.999)
    assert not deadline.allows(3.0)
    assert not deadline.allows(3.5)
    clock.advance(3.0)
    assert not deadline.allows(0.0)


@LEAN
@given(budget=st.floats(0, 600, allow_nan=False), steps=st.lists(st.floats(0, 100, allow_nan=False), max_size=10))
def test_deadline_remaining_is_monotone_and_never_negative(budget: float, steps: list[float]) -> None:
    clock = FakeClock()
    deadline = Deadline(budget, clock)
    previous = deadline.remaining()
    assert previous == pytest.approx(budget)
    for step in steps:
        clock.advance(step)
        current = deadline.remaining()
        assert 0.0 <= current <= previous
        assert current == pytest.approx(max(0.0, budget - clock.elapsed), abs=1e-6)
        previous = current
