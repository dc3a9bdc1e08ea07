"""The pure rules behind backfill and reconcile (app/push/catch_up.py), the ``read`` declaration in
push.toml, and ``--since`` parsing. The end-to-end proofs are tests/push_proofs/test_backfill.py and
test_reconcile.py."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.cli import main
from app.mapping.loader import load_mappings
from app.mapping.schema import PushWrite
from app.push.backfill import cursor_name
from app.push.catch_up import compared_fields, drifted_fields, state_writes, stored_fields
from app.push.catch_up_command import since_instant
from app.push.effects import Effect, OrderFacts, OrderSnapshot, Target, plan_effects

MAPPINGS = load_mappings(Path(__file__).resolve().parents[2] / "mappings")
assert MAPPINGS.push is not None
RULES = MAPPINGS.push
SNAPSHOT = OrderSnapshot(
    trigger_message_id="m-1",
    order_id="o-1",
    order_version=7,
    order_state="Confirmed",
    shipment_state="Shipped",
    payment_state="Paid",
    tracking_id="TR-1",
    carrier="DHL",
    modified_at=datetime(2026, 12, 1, tzinfo=UTC),
)
TARGETS = [Target("100", "100"), Target("200", "200")]


def _effects() -> list[Effect]:
    return plan_effects(RULES, SNAPSHOT, OrderFacts(order_id="o-1", order_number="ON-1"), TARGETS)


def test_state_writes_keep_the_puts_under_their_keys() -> None:
    effects = _effects()
    kept = state_writes(effects)
    assert [e.method for e in kept] == ["PUT", "PUT"]
    assert kept == [e for e in effects if e.method == "PUT"]


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_a_repair_writes_under_keys_of_its_own(first: str, second: str) -> None:
    usual = {e.path: e.idempotency_key for e in state_writes(_effects())}
    once = state_writes(_effects(), repair=first)
    assert [e.body for e in once] == [e.body for e in state_writes(_effects())], "the same state"
    assert all(e.idempotency_key != usual[e.path] for e in once), "not the version's done keys"
    assert once == state_writes(_effects(), repair=first), "deterministic: a redelivery sends it once"
    other = state_writes(_effects(), repair=second)
    assert (first == second) == ([e.idempotency_key for e in once] == [e.idempotency_key for e in other])


def test_a_repaired_write_that_carries_its_reference_carries_the_new_key() -> None:
    memo = next(e for e in _effects() if e.method == "POST")
    as_put = msgspec.structs.replace(memo, method="PUT")
    [repaired] = state_writes([as_put], repair="r")
    assert repaired.body["externalReference"] == repaired.idempotency_key != memo.idempotency_key


def test_reconcile_compares_the_fields_that_describe_the_order() -> None:
    assert compared_fields(RULES, "storage") == {
        "ct.orderId",
        "ct.orderNumber",
        "ct.orderState",
        "ct.shipmentState",
        "ct.paymentState",
        "ct.trackingId",
        "ct.carrier",
    }


@given(
    st.dictionaries(st.sampled_from(["ct.a", "ct.b", "ct.c", "ct.d"]), st.text(max_size=5)),
    st.dictionaries(st.sampled_from(["ct.a", "ct.b", "ct.c", "ct.x"]), st.text(max_size=5)),
)
def test_drift_names_exactly_the_compared_fields_that_differ(expected: dict[str, str], stored: dict[str, str]) -> None:
    fields = frozenset({"ct.a", "ct.b", "ct.c"})
    drift = drifted_fields(expected, stored, fields)
    assert drift == sorted(drift)
    assert set(drift) == {k for k in fields if k in expected and stored.get(k) != expected[k]}
    assert drifted_fields(expected, expected | stored | expected, fields) == []


@pytest.mark.parametrize(
    ("answer", "fields"),
    [
        ({"ct.orderState": "Open"}, {"ct.orderState": "Open"}),
        ({"id": 1, "storage": {"ct.orderState": "Open"}, "x9": 0}, {"ct.orderState": "Open"}),
        ([{"ct.orderState": "Open"}], None),
        ("text", None),
        (None, None),
    ],
)
def test_a_state_read_is_read_leniently(answer: Any, fields: dict[str, str] | None) -> None:
    assert stored_fields(answer) == fields


def _write(**fields: Any) -> PushWrite:
    return msgspec.convert(
        {"method": "PUT", "path": "/t/{ticketId}/storage", "body": {"k": "{orderState}"}} | fields,
        PushWrite,
        from_attributes=False,
    )


def test_read_is_declared_on_a_put_only() -> None:
    assert _write(read="GET /t/{ticketId}/storage").read_path == "/t/{ticketId}/storage"
    assert _write().read_path is None
    with pytest.raises(msgspec.ValidationError, match="only a PUT"):
        _write(method="POST", read="GET /t/{ticketId}/storage")
    with pytest.raises(msgspec.ValidationError, match="read must be"):
        _write(read="POST /t/{ticketId}/storage")
    with pytest.raises(msgspec.ValidationError, match="unknown placeholder"):
        _write(read="GET /t/{ticket}/storage")


def test_since_is_a_date_or_an_instant_with_a_zone_not_in_the_future() -> None:
    assert since_instant("2026-11-27") == datetime(2026, 11, 27, tzinfo=UTC)
    assert since_instant("2026-11-27T10:00:00+01:00") == datetime(2026, 11, 27, 9, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError, match="time zone"):
        since_instant("2026-11-27T10:00:00")
    with pytest.raises(argparse.ArgumentTypeError, match="not a date"):
        since_instant("yesterday")
    with pytest.raises(argparse.ArgumentTypeError, match="future"):
        since_instant((datetime.now(UTC) + timedelta(days=2)).date().isoformat())


def test_one_backfill_position_per_since_instant() -> None:
    moment = datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert cursor_name(moment) == "backfill:20261127T100000Z"
    assert cursor_name(moment.astimezone(tz=None)) == cursor_name(moment)


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: str) -> None:
    for name in [n for n in os.environ if n.startswith(("CTP_", "GATEWAY_", "NOVOMIND_", "REDIS_"))]:
        monkeypatch.delenv(name)
    base = {
        "CTP_PROJECT_KEY": "demo",
        "CTP_CLIENT_ID": "sandbox-client",
        "CTP_CLIENT_SECRET": "sandbox-secret",
        "CTP_AUTH_URL": "http://127.0.0.1:9",
        "CTP_API_URL": "http://127.0.0.1:9",
        "GATEWAY_JWT_SECRET": "s" * 32,
        "GATEWAY_DATA_DIR": str(tmp_path),
    }
    for name, value in (base | values).items():
        if value:
            monkeypatch.setenv(name, value)


def test_configuration_problems_end_both_commands_with_exit_code_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _environment(monkeypatch, tmp_path)
    assert main(["reconcile", "--dry-run", "--quiet"]) == 2
    assert "NOVOMIND_BASE_URL" in capsys.readouterr().err
    _environment(monkeypatch, tmp_path, CTP_CLIENT_ID="")
    assert main(["backfill", "--since", "2026-11-27", "--quiet"]) == 2
    assert "CTP_CLIENT_ID" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["backfill", "--since", "last week"])
    assert refused.value.code == 2
