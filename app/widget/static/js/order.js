// The selected order: status, items and totals, shipping, deliveries with tracking, returns and
// refunds, payments. Money in the market's currency and format; times in the market's zone.

import { badge, h, rows } from "./dom.js";
import { addressLines, dateTime, money } from "./format.js";
import { statusWord, t } from "./i18n.js";
import { linkButton } from "./linking.js";
import { revealable } from "./reveal.js";

export function orderDetail(order, page, link) {
  const locale = order.locale;
  const zone = order.timeZone;
  const linkedHere = link && link.orderId === order.id;
  return [
    h(
      "div",
      { class: "order-head" },
      h("p", { class: "order-title" }, h("strong", {}, "#" + (order.orderNumber || order.id)), " ", h("span", { class: "store" }, order.store || "—")),
      h("p", { class: "muted" }, t("placed") + " " + dateTime(order.createdAt, zone)),
      order.stale
        ? h("p", { class: "notice tone-warn stale-order", role: "note" }, h("strong", {}, "⚠ " + t("stale") + ": "), t("staleNote", { time: dateTime(order.fetchedAt) }))
        : null,
      h(
        "p",
        { class: "badges" },
        badge("order", order.orderState),
        badge("shipment", order.shipmentState),
        badge("payment", order.paymentState),
        returnState(order) ? badge("return", returnState(order), "returnPayment") : null,
        order.state && order.state.name ? h("span", { class: "badge tone-neutral" }, order.state.name) : null,
      ),
      linkedHere
        ? h("p", { class: "linked" }, h("span", { class: "badge tone-ok" }, "✓ " + t("linked")))
        : linkButton(page, { orderNumber: order.orderNumber }, t("linkOrderLabel", { number: order.orderNumber })),
      (order.warnings || []).map((warning) => h("p", { class: "notice tone-warn", role: "note" }, h("strong", {}, t("warning") + ": "), warning)),
    ),
    part(t("lineItems"), items(order, locale), totals(order, locale)),
    part(t("shipping"), shipping(order, page, locale)),
    part(t("deliveries"), deliveries(order, zone)),
    part(t("returns"), returns(order, zone, locale)),
    part(t("payments"), payments(order, zone, locale)),
    order.discountCodes.length ? part(t("discounts"), h("p", {}, order.discountCodes.map((d) => d.code || d.id).join(", "))) : null,
  ];
}

function part(title, ...content) {
  return h("section", { class: "part" }, h("h3", {}, title), content);
}

// The return badge: an open refund first, then the one state all return lines share.
function returnState(order) {
  const states = order.returns.flatMap((info) => info.items.map((item) => item.paymentState));
  if (!states.length) {
    return null;
  }
  if (states.includes("Initial")) {
    return "Initial";
  }
  return states.every((state) => state === states[0]) ? states[0] : "Initial";
}

function items(order, locale) {
  const lines = [...order.lineItems, ...order.customLineItems];
  return h(
    "table",
    { class: "items" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("lineItems")), h("th", { scope: "col", class: "num" }, t("qty")), h("th", { scope: "col", class: "num" }, t("total")))),
    h(
      "tbody",
      {},
      lines.map((line) =>
        h(
          "tr",
          {},
          h(
            "td",
            {},
            line.name,
            line.sku ? h("span", { class: "muted sku" }, " " + line.sku) : null,
            line.states && line.states.length
              ? h("span", { class: "line-states" }, line.states.map((s) => s.quantity + "× " + (s.state || s.stateKey || "")).join(" · "))
              : null,
          ),
          h("td", { class: "num" }, String(line.quantity)),
          h("td", { class: "num" }, money(line.totalPrice, locale)),
        ),
      ),
    ),
  );
}

function totals(order, locale) {
  const taxed = order.taxedPrice;
  return rows([
    [t("subtotal"), taxed ? money(taxed.totalNet, locale) : null],
    [t("tax"), taxed && taxed.totalTax ? money(taxed.totalTax, locale) : null],
    [t("shipping"), order.shippingMethod && order.shippingMethod.price ? money(order.shippingMethod.price, locale) : null],
    [t("total"), h("strong", {}, money(order.totalPrice, locale))],
  ]);
}

function shipping(order, page, locale) {
  const methods = order.shippingMethods.length ? order.shippingMethods : order.shippingMethod ? [order.shippingMethod] : [];
  const path = "/v1/orders/" + encodeURIComponent(order.orderNumber) + "/fields/";
  const address = (field, value) =>
    value
      ? revealable({
          page,
          masked: order.masked,
          path: path + field,
          label: t(field),
          value: addressLines(value).join(", "),
          render: (revealed) => addressLines(revealed).join(", "),
        })
      : null;
  return rows([
    [t("shipping"), methods.map((m) => m.name + (m.price ? " (" + money(m.price, locale) + ")" : "")).join(", ") || null],
    [t("shippingAddress"), address("shippingAddress", order.shippingAddress)],
    [t("email"), order.customerEmail ? revealable({ page, masked: order.masked, path: path + "customerEmail", label: t("email"), value: order.customerEmail }) : null],
  ]);
}

function deliveries(order, zone) {
  if (!order.deliveries.length) {
    return h("p", { class: "empty" }, t("noDeliveries"));
  }
  return h(
    "ol",
    { class: "deliveries" },
    order.deliveries.map((delivery, index) =>
      h(
        "li",
        { class: "delivery" },
        h("p", {}, h("strong", {}, t("delivery", { n: index + 1 })), " · ", h("span", { class: "muted" }, dateTime(delivery.createdAt, zone))),
        delivery.items.length ? h("p", { class: "muted" }, delivery.items.map((i) => i.quantity + "× " + (i.name || i.itemId)).join(", ")) : null,
        h("ul", { class: "parcels" }, delivery.parcels.map((parcel) => h("li", { class: "parcel" }, parcelLine(parcel)))),
      ),
    ),
  );
}

function parcelLine(parcel) {
  const carrier = parcel.carrier || parcel.provider || "";
  const label = parcel.isReturn ? t("returnParcel") : t("parcel");
  const tracking = parcel.trackingId || t("noTracking");
  const safe = parcel.trackingUrl && /^https?:\/\//i.test(parcel.trackingUrl);
  return [
    h("span", { class: "muted" }, label + (carrier ? " · " + carrier : "") + ": "),
    safe
      ? h(
          "a",
          {
            href: parcel.trackingUrl,
            target: "_blank",
            rel: "noopener noreferrer",
            "aria-label": t("trackLabel", { id: tracking, carrier: carrier || "—" }),
          },
          tracking,
        )
      : h("span", {}, tracking),
  ];
}

function returns(order, zone, locale) {
  const refunds = order.payments.flatMap((payment) => payment.transactions.filter((tx) => tx.type === "Refund"));
  if (!order.returns.length && !refunds.length) {
    return h("p", { class: "empty" }, t("noReturns"));
  }
  return [
    order.returns.map((info) =>
      h(
        "div",
        { class: "return" },
        h("p", {}, h("strong", {}, t("returnOf", { date: dateTime(info.returnDate, zone, "date") })), info.returnTrackingId ? " · " + info.returnTrackingId : ""),
        h(
          "ul",
          { class: "return-items" },
          info.items.map((item) =>
            h(
              "li",
              {},
              h("span", {}, item.quantity + "× " + (item.name || item.itemId || "")),
              " ",
              h("span", { class: "badges" }, badge("return", item.shipmentState, "returnShipment"), badge("payment", item.paymentState, "returnPayment")),
              item.comment ? h("span", { class: "muted" }, " “" + item.comment + "”") : null,
            ),
          ),
        ),
      ),
    ),
    refunds.length ? h("div", { class: "refunds" }, h("p", {}, h("strong", {}, t("refunds"))), transactionList(refunds, zone, locale)) : null,
  ];
}

function payments(order, zone, locale) {
  if (!order.payments.length) {
    return h("p", { class: "empty" }, t("noPayments"));
  }
  return order.payments.map((payment) =>
    h(
      "div",
      { class: "payment" },
      h(
        "p",
        {},
        h("strong", {}, payment.methodName || payment.method || "—"),
        payment.provider ? h("span", { class: "muted" }, " · " + payment.provider) : null,
        " · ",
        money(payment.amountPlanned, locale),
      ),
      transactionList(payment.transactions, zone, locale),
    ),
  );
}

function transactionList(transactions, zone, locale) {
  return h(
    "ul",
    { class: "transactions" },
    transactions.map((tx) =>
      h(
        "li",
        { class: "transaction tone-" + (tx.state === "Failure" ? "bad" : tx.state === "Success" ? "ok" : "warn") },
        h("span", {}, statusWord("transaction", tx.type) + " " + statusWord("transactionState", tx.state)),
        " · ",
        h("span", { class: "amount" }, money(tx.amount, locale)),
        tx.timestamp ? h("span", { class: "muted" }, " · " + dateTime(tx.timestamp, zone)) : null,
      ),
    ),
  );
}
