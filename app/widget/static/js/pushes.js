// The status updates the gateway pushed to this ticket (GET /v1/tickets/{ticketId}/pushes).

import { h } from "./dom.js";
import { dateTime } from "./format.js";
import { statusWord, t } from "./i18n.js";

export function pushList(page) {
  const items = page.items || [];
  if (!items.length) {
    return [h("p", { class: "empty" }, t("noPushes"))];
  }
  return [
    h(
      "ol",
      { class: "pushes" },
      items.map((item) => {
        const dead = item.outcome === "dead-lettered";
        return h(
          "li",
          { class: "push" + (dead ? " push-dead" : "") },
          h(
            "p",
            { class: "push-head" },
            h("span", { class: "badge tone-" + (dead ? "bad" : "ok") }, dead ? "⚠ " + t("deadLettered") : "✓ " + t("deliveredOutcome")),
            " ",
            h("time", { datetime: item.at }, dateTime(item.at)),
            item.orderNumber ? h("span", { class: "muted" }, " · #" + item.orderNumber) : null,
          ),
          h("p", { class: "push-text" }, item.text || statusWord("kinds", item.changeKind) || item.changeKind),
          dead && item.reason ? h("p", { class: "push-reason" }, item.reason) : null,
          item.attempts > 1 ? h("p", { class: "muted" }, t("attempts", { n: item.attempts })) : null,
        );
      }),
    ),
    page.next ? h("p", { class: "muted" }, t("more")) : null,
  ];
}
