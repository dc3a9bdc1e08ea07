"""Regenerate docs/img/widget-360.png and docs/img/widget-wide.png: the widget framed by a desk page,
filled from the seeded sandbox (ticket T-100042: Anna Schmidt's multi-parcel order DE-100001).

Needs Debian's Chromium at /usr/bin/chromium (`bash scripts/system-deps.sh`).
    .venv/bin/python scripts/widget_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import logging

from playwright.sync_api import Page, sync_playwright

from app.sandbox.commercetools.seed import DEMO_CUSTOMER_EMAIL, DEMO_ORDER_NUMBER, DEMO_TICKET_ID
from app.storage.ports import PushRecord
from tests.widget.browser.harness import ARGS, CHROMIUM, Rig, rig

SIZES = {"widget-360.png": (360, 1400), "widget-wide.png": (1100, 1000)}


def shoot(page: Page, rig_: Rig, width: int, height: int, path: Path) -> None:
    link = rig_.link(ticketId=DEMO_TICKET_ID, contactEmail=DEMO_CUSTOMER_EMAIL, orderNumber=DEMO_ORDER_NUMBER)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(rig_.desk(link, width=width, height=height))
    frame = page.frame_locator("#w")
    frame.locator("body[data-ready='true']").wait_for()
    frame.locator("#order .order-head").wait_for()
    page.locator("#w").screenshot(path=str(path))
    print(path)


def pushed_updates() -> list[PushRecord]:
    """What the pusher wrote to the seeded ticket as its order went out (the panel under the order)."""

    def record(key: str, kind: str, state: str, text: str, hour: int) -> PushRecord:
        return PushRecord(
            ticket_id=DEMO_TICKET_ID.removeprefix("T-"),
            key=key,
            order_id="seeded",
            order_number=DEMO_ORDER_NUMBER,
            store="de-store",
            change_kind=kind,
            state=state,
            write="memo",
            text=text,
            outcome="delivered",
            at=datetime(2026, 5, 30, hour, 12, tzinfo=UTC),
            attempts=1,
        )

    return [
        record("shot:paid", "payment-state", "Paid", f"Bestellung {DEMO_ORDER_NUMBER} ist bezahlt.", 9),
        record("shot:shipped", "shipment-state", "Shipped", f"Bestellung {DEMO_ORDER_NUMBER} wurde versandt.", 14),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.disable(logging.INFO)  # the gateway's request log is not what this script shows
    with rig() as running, sync_playwright() as playwright:
        running.record_pushes(pushed_updates())
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        for name, (width, height) in SIZES.items():
            shoot(page, running, width, height, args.out / name)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
