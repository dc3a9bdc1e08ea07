// The order list: one button per order (Enter/Space select it), the selected one marked.

import { badge, h } from "./dom.js";
import { dateTime, money } from "./format.js";
import { t } from "./i18n.js";

export function ordersOf(lookup) {
  const orders = [...(lookup.recentOrders || [])];
  if (lookup.order && !orders.some((order) => order.id === lookup.order.id)) {
    orders.unshift(lookup.order);
  }
  return orders;
}

export function orderList(orders, selected, onSelect) {
  if (!orders.length) {
    return [h("p", { class: "empty" }, t("noOrders"))];
  }
  return [
    h(
      "ul",
      { class: "order-list" },
      orders.map((order) => {
        const current = order.orderNumber === selected;
        const button = h(
          "button",
          {
            type: "button",
            class: "order-choice",
            "aria-pressed": current ? "true" : "false",
            "data-order-number": order.orderNumber || "",
          },
          h(
            "span",
            { class: "order-choice-head" },
            h("strong", {}, "#" + (order.orderNumber || order.id)),
            h("span", { class: "store" }, order.store || "—"),
            h("span", { class: "amount" }, money(order.totalPrice, order.locale)),
          ),
          h(
            "span",
            { class: "order-choice-meta" },
            h("span", { class: "muted" }, dateTime(order.createdAt, null, "date")),
            badge("order", order.orderState),
            badge("shipment", order.shipmentState),
            badge("payment", order.paymentState),
          ),
        );
        button.addEventListener("click", () => onSelect(order.orderNumber));
        return h("li", {}, button);
      }),
    ),
  ];
}
