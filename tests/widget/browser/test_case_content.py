"""What the agent sees, in a real Chromium framed by the desk page, filled from the seeded sandbox:
the seeded anchor cases of app/sandbox/commercetools/seed.py, stale data, masking and reveal, and
the page used by keyboard alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import FrameLocator, Page, expect

from app.sandbox.commercetools.seed import (
    CANCELLED_ORDER_NUMBER,
    CANCELLED_TICKET_ID,
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    DEMO_TICKET_ID,
    GUEST_ORDER_NUMBER,
    RETURNED_ORDER_NUMBER,
    SHARED_EMAIL,
)
from app.storage.ports import PushRecord
from tests.support import auth
from tests.widget.browser.harness import Rig, require_browser

require_browser()


def _open(page: Page, rig: Rig, link: str, *, width: int = 400) -> FrameLocator:
    page.goto(rig.desk(link, width=width))
    frame = page.frame_locator("#w")
    frame.locator("body[data-ready='true']").wait_for()
    return frame


def test_a_multi_parcel_order(page: Page, widget_rig: Rig, artifacts: Path) -> None:
    link = widget_rig.link(
        ticketId=DEMO_TICKET_ID, contactEmail=DEMO_CUSTOMER_EMAIL, orderNumber=DEMO_ORDER_NUMBER, locale="en-GB"
    )
    frame = _open(page, widget_rig, link)
    order = frame.locator("#order")
    expect(order.locator(".order-title")).to_contain_text(DEMO_ORDER_NUMBER)
    # Status words with the colour: the badge says what it means.
    badges = order.locator(".order-head .badge")
    expect(badges.filter(has_text="Order:")).to_have_text("Order: Confirmed")
    expect(badges.filter(has_text="Shipment:")).to_have_text("Shipment: Shipped")
    expect(badges.filter(has_text="Payment:")).to_have_text("Payment: Paid")
    # Money in the market's currency and number format (de-DE euros), whatever the label language.
    assert "258,86\xa0€" in order.locator(".rows").first.inner_text()
    # Two deliveries, three DHL parcels, each tracking link opening safely in a new tab.
    expect(order.locator(".delivery")).to_have_count(2)
    links = order.locator(".parcel a")
    expect(links).to_have_count(3)
    for index in range(3):
        anchor = links.nth(index)
        assert anchor.get_attribute("href", timeout=1000).startswith("https://www.dhl.de/")  # type: ignore[union-attr]
        assert anchor.get_attribute("target") == "_blank"
        assert anchor.get_attribute("rel") == "noopener noreferrer"
    # The ticket is already linked through the order's custom field, and the card says so.
    expect(frame.locator("#customer .linked")).to_contain_text("Linked to this ticket")
    page.screenshot(path=str(artifacts / "multi-parcel.png"), full_page=True)


def test_a_return_with_refund_in_german(page: Page, widget_rig: Rig, artifacts: Path) -> None:
    frame = _open(page, widget_rig, widget_rig.link(orderNumber=RETURNED_ORDER_NUMBER, locale="de-DE"))
    order = frame.locator("#order")
    expect(order.locator(".order-head")).to_contain_text("Versand: Zugestellt")
    expect(order.locator(".order-head")).to_contain_text("Zahlung: Guthaben offen")
    # One return line per return state, each with its shipment and refund state in words.
    returns = order.locator(".part").filter(has_text="Retouren und Erstattungen").inner_text()
    for words in ("Wieder auf Lager", "Unbrauchbar", "Eingegangen", "Angekündigt", "Erstattet", "Nicht erstattet"):
        assert words in returns
    refunds = order.locator(".refunds .transaction")
    expect(refunds.first).to_contain_text("Erstattung erfolgreich")
    expect(refunds).to_have_count(2)
    assert frame.locator("html").get_attribute("lang") == "de"
    page.screenshot(path=str(artifacts / "return-refund-de.png"), full_page=True)


def test_a_guest_order_has_no_customer_account(page: Page, widget_rig: Rig, artifacts: Path) -> None:
    frame = _open(page, widget_rig, widget_rig.link(orderNumber=GUEST_ORDER_NUMBER, locale="en-GB"))
    expect(frame.locator("#customer")).to_contain_text("Guest checkout")
    # The guest's email, masked for the agent role.
    expect(frame.locator("#customer .rows")).to_contain_text("j***@web.example")
    expect(frame.locator("#order .order-title")).to_contain_text(GUEST_ORDER_NUMBER)
    expect(frame.locator("#order .order-head")).to_contain_text("Shipment: Ready to ship")
    page.screenshot(path=str(artifacts / "guest-order.png"), full_page=True)


def test_one_email_in_two_stores_shows_both_with_their_store(page: Page, widget_rig: Rig, artifacts: Path) -> None:
    frame = _open(page, widget_rig, widget_rig.link(contactEmail=SHARED_EMAIL, locale="en-GB"))
    shown = frame.locator("#customer .store").first.inner_text()
    candidates = frame.locator("#candidates .candidate")
    stores = {candidates.nth(i).locator(".store").inner_text() for i in range(candidates.count())}
    # The other store's account is a candidate, labelled with its store; guest orders too.
    assert {"de-store", "us-store"} <= stores | {shown}
    assert ({"de-store", "us-store"} - {shown}) <= stores
    expect(candidates.filter(has_text="Guest orders").first).to_be_visible()
    expect(candidates.first.locator(".matched")).to_have_text("Matched by email")
    expect(frame.locator("#customer")).to_contain_text("Several customers match equally well")
    page.screenshot(path=str(artifacts / "two-stores.png"), full_page=True)


def test_link_a_candidate_to_the_ticket(page: Page, widget_rig: Rig) -> None:
    frame = _open(page, widget_rig, widget_rig.link(ticketId="4711", contactEmail=SHARED_EMAIL, locale="en-GB"))
    shown_store = frame.locator("#customer .store").first.inner_text()
    other_store = "us-store" if shown_store == "de-store" else "de-store"
    candidate = frame.locator("#candidates .candidate").filter(has_text=other_store).first
    assert frame.locator("#customer .linked").count() == 0
    candidate.get_by_role("button", name=re.compile("^Link to this ticket")).click()
    # The ticket now names that customer: the lookup puts them on the card, marked linked.
    expect(frame.locator("#customer .linked")).to_contain_text("Linked to this ticket")
    expect(frame.locator("#customer .store").first).to_have_text(other_store)
    expect(frame.locator("#announce")).to_have_text("Linked to this ticket.")
    # The link is stored: the API says so.
    answer = httpx.get(f"{widget_rig.gateway.url}/v1/links/4711", headers=auth(("orders:read",)))
    assert answer.status_code == 200
    assert answer.json()["store"] == other_store
    assert answer.json()["linkedBy"] == "agent-7"
    httpx.delete(f"{widget_rig.gateway.url}/v1/links/4711", headers=auth(("links:write",)))


def test_stale_data_is_marked(page: Page, widget_rig: Rig, artifacts: Path) -> None:
    """The stale gateway's views expire at once; with commercetools failing, Refresh answers the last
    view marked stale (docs/cache.md), and the page says so in words."""
    # The ticket names the order through its custom field: the lookup finds it by a query, and only
    # the order's own read (by number) fails below.
    link = widget_rig.link(widget_rig.stale_gateway, ticketId=DEMO_TICKET_ID, locale="en-GB")
    frame = _open(page, widget_rig, link)
    expect(frame.locator("#order .order-title")).to_contain_text(DEMO_ORDER_NUMBER)
    expect(frame.locator("#as-of")).to_contain_text("Data as of")
    expect(frame.locator(".stale-marker")).to_have_count(0)
    widget_rig.fault(path_contains="order-number=", status=503, times=1000)
    frame.locator("#refresh").click()
    expect(frame.locator(".stale-marker")).to_have_text("⚠ Stale")
    # The order is still shown, marked where it is read: the last known data, not an error.
    expect(frame.locator("#order .order-title")).to_contain_text(DEMO_ORDER_NUMBER)
    expect(frame.locator("#order .stale-order")).to_contain_text("Stale: commercetools could not be reached")
    expect(frame.locator("#customer .rows")).to_be_visible()
    page.screenshot(path=str(artifacts / "stale.png"), full_page=True)


def test_agent_sees_masked_data_without_a_show_control(page: Page, widget_rig: Rig) -> None:
    frame = _open(page, widget_rig, widget_rig.link(contactEmail=DEMO_CUSTOMER_EMAIL, locale="en-GB"))
    card = frame.locator("#customer")
    expect(card).to_contain_text("a***@example.com")
    assert DEMO_CUSTOMER_EMAIL not in card.inner_text()
    assert "Schmidt" not in frame.locator("body").inner_text()
    expect(frame.get_by_role("button", name=re.compile("^Show"))).to_have_count(0)


def test_supervisor_reveals_one_field_at_a_time_and_it_is_audited(page: Page, widget_rig: Rig, artifacts: Path) -> None:
    link = widget_rig.link(
        contactEmail=DEMO_CUSTOMER_EMAIL,
        orderNumber=DEMO_ORDER_NUMBER,
        role="supervisor",
        agentId="sup-9",
        locale="en-GB",
    )
    frame = _open(page, widget_rig, link)
    card = frame.locator("#customer")
    # Masked until asked, even though the role may read personal data.
    expect(card).to_contain_text("a***@example.com")
    assert "Schmidt" not in frame.locator("body").inner_text()
    show_email = card.get_by_role("button", name="Show Email (the read is recorded)")
    show_email.click()
    expect(card).to_contain_text(DEMO_CUSTOMER_EMAIL)
    expect(show_email).to_have_count(0)
    # Only the email was revealed: the name is still masked.
    assert "Schmidt" not in card.inner_text()
    page.screenshot(path=str(artifacts / "revealed-supervisor.png"), full_page=True)
    trail = httpx.get(
        f"{widget_rig.gateway.url}/v1/audit", params={"subject": "sup-9"}, headers=auth(("audit:read",))
    ).json()["results"]
    assert [(r["resourceType"], r["fields"]) for r in trail] == [("customer", ["email"])]
    # The order's shipping address, on its own.
    frame.locator("#order").get_by_role("button", name="Show Shipping address (the read is recorded)").click()
    expect(frame.locator("#order .revealed")).to_contain_text("Schmidt")


def test_keyboard_alone(page: Page, widget_rig: Rig) -> None:
    """Tab reaches Refresh, then the customer, the orders and the order detail, in that order; Space
    and Enter choose an order; the focused element shows a focus ring."""
    frame = _open(
        page, widget_rig, widget_rig.link(ticketId=DEMO_TICKET_ID, contactEmail=DEMO_CUSTOMER_EMAIL, locale="en-GB")
    )
    frame.locator("#order .order-title").wait_for()
    page.locator("#w").focus()
    visited: list[str] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        visited.append(
            frame.locator("body").evaluate(
                "() => { const e = document.activeElement; const s = e.closest('.card');"
                " const what = e.getAttribute('data-order-number') || e.textContent.trim().slice(0, 20);"
                " return (s ? s.id : e.id || e.tagName) + ':' + what; }"
            )
        )
    sections = [entry.split(":")[0] for entry in visited]
    assert sections[0] == "refresh", visited
    # Every order of the list comes before the order's detail (its tracking links), nothing in between.
    first_detail = sections.index("order")
    assert set(sections[1:first_detail]) == {"orders"}, visited
    assert sections[first_detail + 1 : first_detail + 3] == ["order", "order"], visited
    # A visible focus ring on the focused order.
    focused = frame.locator(".order-choice:focus")
    if focused.count() == 0:
        frame.locator(".order-choice").first.focus()
    outline = frame.locator(".order-choice:focus").evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    choices = frame.locator(".order-choice")
    first_selected = frame.locator(".order-choice[aria-pressed='true']").get_attribute("data-order-number")
    # Space on another order selects it.
    other = next(
        choices.nth(i)
        for i in range(choices.count())
        if choices.nth(i).get_attribute("data-order-number") != first_selected
    )
    number = other.get_attribute("data-order-number")
    other.focus()
    page.keyboard.press("Space")
    expect(frame.locator("#order .order-title")).to_contain_text(f"#{number}")
    expect(frame.locator(f".order-choice[data-order-number='{number}']")).to_have_attribute("aria-pressed", "true")
    # Enter on the first one selects it back; focus stays on the list.
    frame.locator(f".order-choice[data-order-number='{first_selected}']").focus()
    page.keyboard.press("Enter")
    expect(frame.locator("#order .order-title")).to_contain_text(f"#{first_selected}")
    assert (
        frame.locator("body").evaluate("() => document.activeElement.getAttribute('data-order-number')")
        == first_selected
    )


def test_a_failing_section_says_so_in_words_and_the_others_fill(page: Page, widget_rig: Rig) -> None:
    """commercetools refuses the order read (and there is no cached view to fall back on): the order
    section says what happened and what to do; the lookup's sections fill as usual."""
    widget_rig.fault(path_contains=f"order-number={CANCELLED_ORDER_NUMBER}", status=503, times=1000)
    link = widget_rig.link(widget_rig.stale_gateway, ticketId=CANCELLED_TICKET_ID, locale="en-GB")
    frame = _open(page, widget_rig, link)
    expect(frame.locator("#order .error-line")).to_have_text(
        "commercetools or the gateway's storage is unavailable. Try Refresh in a minute."
    )
    expect(frame.locator("#customer .rows")).to_be_visible()
    expect(frame.locator(f".order-choice[data-order-number='{CANCELLED_ORDER_NUMBER}']")).to_have_attribute(
        "aria-pressed", "true"
    )
    # Every section finished loading, whatever its answer.
    expect(frame.locator("section[aria-busy='true']")).to_have_count(0)


def test_the_updates_pushed_to_the_ticket_delivered_and_dead_lettered(
    page: Page, widget_rig: Rig, artifacts: Path
) -> None:
    ticket = "700123"
    shipped = PushRecord(
        ticket_id=ticket,
        key="push-msg-1:memo",
        order_id="order-1",
        order_number=DEMO_ORDER_NUMBER,
        store="de-store",
        change_kind="shipment-state",
        state="Shipped",
        write="memo",
        text="Ihre Bestellung wurde versandt.",
        outcome="delivered",
        at=datetime(2026, 6, 1, 9, 30, tzinfo=UTC),
        attempts=1,
    )
    refused = PushRecord(
        ticket_id=ticket,
        key="dead:00000000000000000007",
        order_id="order-1",
        order_number=DEMO_ORDER_NUMBER,
        store="de-store",
        change_kind="refund",
        write="storage+memo",
        outcome="dead-lettered",
        at=datetime(2026, 6, 1, 10, 5, tzinfo=UTC),
        attempts=5,
        dead_letter_id="00000000000000000007",
        reason="novomind refused the write (HTTP 403)",
    )
    widget_rig.record_pushes([shipped, refused])
    frame = _open(page, widget_rig, widget_rig.link(ticketId=ticket, orderNumber=DEMO_ORDER_NUMBER, locale="en-GB"))
    section = frame.locator("#pushes")
    entries = section.locator("li.push")
    expect(entries).to_have_count(2)
    # Newest first: the dead-lettered refund, with its reason and attempts, then the delivered memo.
    expect(entries.nth(0)).to_have_class(re.compile(r"push-dead"))
    expect(entries.nth(0)).to_contain_text("novomind refused the write (HTTP 403)")
    expect(entries.nth(0)).to_contain_text("5")
    expect(entries.nth(1)).to_contain_text("Ihre Bestellung wurde versandt.")
    expect(entries.nth(1)).not_to_have_class(re.compile(r"push-dead"))
    page.screenshot(path=str(artifacts / "pushed-updates.png"), full_page=True)
