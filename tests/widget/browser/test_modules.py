"""The page's modules on their own, in the browser that runs them: every label and status word in
both languages, and the pushed-updates list drawn from the documented contract's shape (the route
itself comes from another part of the gateway; its own browser test runs against the real route)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.widget.browser.harness import Rig, require_browser

require_browser()


@pytest.fixture
def widget_page(browser: Browser, widget_rig: Rig) -> Iterator[tuple[Page, str]]:
    """The widget opened top-level (its own origin, so its modules can be imported), and the static path."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(widget_rig.link(orderNumber="100042", locale="en-GB"))
    page.locator("body[data-ready='true']").wait_for()
    href = page.locator("link[rel=stylesheet]").get_attribute("href")
    assert href is not None
    found = re.match(r"(/widget/static/[0-9a-f]{16})/widget.css", href)
    assert found is not None
    yield page, found.group(1)
    context.close()


def test_every_label_and_status_word_exists_in_english_and_german(widget_page: tuple[Page, str]) -> None:
    page, static = widget_page
    missing = page.evaluate(
        """async (static) => {
          const { LABELS, STATUS } = await import(static + "/js/i18n.js");
          const keys = (table, prefix = "") => Object.entries(table).flatMap(([key, value]) =>
            typeof value === "object" ? keys(value, prefix + key + ".") : [prefix + key]);
          const diff = (a, b) => a.filter((key) => !b.includes(key));
          return {
            labelsOnlyEn: diff(keys(LABELS.en), keys(LABELS.de)),
            labelsOnlyDe: diff(keys(LABELS.de), keys(LABELS.en)),
            statusOnlyEn: diff(keys(STATUS.en), keys(STATUS.de)),
            statusOnlyDe: diff(keys(STATUS.de), keys(STATUS.en)),
          };
        }""",
        static,
    )
    assert missing == {"labelsOnlyEn": [], "labelsOnlyDe": [], "statusOnlyEn": [], "statusOnlyDe": []}


def test_pushed_updates_are_drawn_newest_first_with_dead_letters_in_warning_style(
    widget_page: tuple[Page, str],
) -> None:
    page, static = widget_page
    drawn = page.evaluate(
        """async (static) => {
          const { pushList } = await import(static + "/js/pushes.js");
          const items = [
            { ticketId: "4711", orderId: "o-1", orderNumber: "DE-100001", changeKind: "shipment",
              write: "memo", text: "Your order has shipped.", outcome: "delivered",
              at: "2026-06-01T10:00:00Z", attempts: 1, deadLetterId: null, reason: null },
            { ticketId: "4711", orderId: "o-1", orderNumber: null, changeKind: "payment",
              write: "memo", text: null, outcome: "dead-lettered",
              at: "2026-05-31T09:00:00Z", attempts: 5, deadLetterId: "00000000000000000001",
              reason: "novomind rejected the request (HTTP 404)" },
          ];
          const list = document.createElement("div");
          list.append(...pushList({ items, next: "b3Jk" }).filter(Boolean));
          return [...list.querySelectorAll(".push")].map((li) => ({
            dead: li.classList.contains("push-dead"),
            badge: li.querySelector(".badge").textContent,
            text: li.querySelector(".push-text").textContent,
            reason: li.querySelector(".push-reason") ? li.querySelector(".push-reason").textContent : null,
            time: li.querySelector("time").getAttribute("datetime"),
          })).concat([{ more: list.textContent.includes("More updates exist") }]);
        }""",
        static,
    )
    assert drawn == [
        {
            "dead": False,
            "badge": "✓ Delivered",
            "text": "Your order has shipped.",
            "reason": None,
            "time": "2026-06-01T10:00:00Z",
        },
        {
            "dead": True,
            "badge": "⚠ Not delivered",
            "text": "Payment",
            "reason": "novomind rejected the request (HTTP 404)",
            "time": "2026-05-31T09:00:00Z",
        },
        {"more": True},
    ]
