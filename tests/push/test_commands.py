"""`ctnm dlq list|show|replay` on the embedded backend, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app.cli import main
from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.storage.factory import open_storage
from tests.push.payloads import message, platform


async def _one_dead_letter(data_dir: Path) -> str:
    storage = await open_storage(redis_url=None, data_dir=str(data_dir))
    try:
        msg = message("OrderShipmentStateChanged", message_id="m-1", seq=4, shipmentState="Shipped")
        await accept_delivery(storage.queue, decode_delivery(platform(msg)))
        [delivery] = await storage.queue.receive("test")
        await storage.queue.dead_letter(delivery.entry_id, reason="novomind rejected the request (HTTP 400)")
        [letter] = await storage.queue.dead_letters()
        return letter.id
    finally:
        await storage.aclose()


def test_list_show_and_replay_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    letter_id = asyncio.run(_one_dead_letter(tmp_path))
    where = ["--redis-url", "", "--data-dir", str(tmp_path)]

    assert main(["dlq", *where, "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["messageType"], listed["sequenceNumber"]) == (
        letter_id,
        "OrderShipmentStateChanged",
        4,
    )

    assert main(["dlq", *where, "show", letter_id, "--payload"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert json.loads(shown[0]) == listed
    assert '"shipmentState":"Shipped"' in shown[1]

    assert main(["dlq", *where, "replay", letter_id]) == 0
    assert f"replayed {letter_id}" in capsys.readouterr().err
    assert main(["dlq", *where, "replay", letter_id]) == 2
    assert "dead letter not found" in capsys.readouterr().err
    assert main(["dlq", *where, "list"]) == 0
    assert capsys.readouterr().out == ""


def test_the_pusher_runs_on_uvloop() -> None:
    """`ctnm push` is CPU-bound on event-loop work; uvloop is a pinned dependency on this platform."""
    import uvloop

    from app.cli import _run_service

    async def on_uvloop() -> int:
        return 1 if isinstance(asyncio.get_running_loop(), uvloop.Loop) else 0

    assert _run_service(on_uvloop()) == 1
