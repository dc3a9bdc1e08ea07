// The customer card and the other candidates: who the ticket is about, in which store.

import { h, rows } from "./dom.js";
import { addressLines, dateTime } from "./format.js";
import { t } from "./i18n.js";
import { linkButton } from "./linking.js";
import { revealable } from "./reveal.js";

export function customerCard(lookup, page) {
  const customer = lookup.customer;
  const parts = [];
  if (lookup.ambiguous) {
    parts.push(h("p", { class: "notice tone-warn", role: "note" }, h("strong", {}, t("warning") + ": "), t("ambiguous")));
  }
  for (const warning of lookup.warnings || []) {
    parts.push(h("p", { class: "notice tone-warn", role: "note" }, h("strong", {}, t("warning") + ": "), warning));
  }
  if (!customer) {
    const guest = (lookup.recentOrders || []).find((order) => !order.customerId);
    if (guest) {
      parts.push(h("p", { class: "guest" }, t("guest")));
      parts.push(rows([[t("email"), guest.customerEmail], [t("store"), storeTag(guest.store)]]));
    } else {
      parts.push(h("p", { class: "empty" }, t("noCustomer")));
    }
    return parts;
  }
  const base = "/v1/customers/" + encodeURIComponent(customer.id) + "/fields/";
  const reveal = (field, label, value, render) =>
    revealable({ page, masked: customer.masked, path: base + encodeURIComponent(field), label, value, render });
  const revealNameFields = () => revealName(page, base, customer);
  const name = [customer.title, customer.firstName, customer.middleName, customer.lastName].filter(Boolean).join(" ");
  const address = customer.addresses.find((a) => a.defaultShipping) || customer.addresses[0];
  parts.push(
    h("p", { class: "customer-name" }, revealable({ page, masked: customer.masked, label: t("name"), value: name, fetch: revealNameFields, key: base + "name" })),
    rows([
      [t("email"), reveal("email", t("email"), customer.email)],
      [t("phones"), customer.phones.length ? reveal("phones", t("phones"), customer.phones.join(", ")) : null],
      [t("address"), address ? reveal("address:" + address.id, t("address"), addressLines(address).join(", "), addressText) : null],
      [t("customerNumber"), customer.customerNumber],
      [customer.stores.length > 1 ? t("stores") : t("store"), customer.stores.length ? customer.stores.map(storeTag) : "—"],
      [t("group"), customer.customerGroup ? customer.customerGroup.name || customer.customerGroup.key : null],
      [t("orderCount"), customer.orderCount],
      [t("since"), customer.createdAt ? dateTime(customer.createdAt, null, "date") : null],
    ]),
  );
  const status = linkStatus(lookup.link, customer);
  const linkedHere = lookup.link && (lookup.link.customerId === customer.id || !lookup.link.customerId);
  parts.push(linkedHere ? status : [status, linkButton(page, { customerId: customer.id }, t("linkCustomerLabel", { name, store: customer.stores[0] || "—" }))]);
  return parts;
}

// The name is two personal fields: both are fetched (and audited) when the agent asks to see it.
function revealName(page, base, customer) {
  return Promise.all(
    ["firstName", "lastName"].map((field) => page.get(base + field).then((result) => (result.ok ? result.body.value : Promise.reject(result)))),
  ).then((values) => [customer.title, ...values].filter(Boolean).join(" "));
}

function addressText(value) {
  return addressLines(value).join(", ");
}

export function storeTag(store) {
  return h("span", { class: "store" }, store || "—");
}

// The ticket's link as it concerns this customer: linked to them (by whom, or found through the
// order's ticket field), or linked elsewhere, which the agent must see before linking again.
function linkStatus(link, customer) {
  if (!link) {
    return null;
  }
  const who = link.source === "stored" ? t("linkedBy", { agent: link.linkedBy || "—" }) : t("linkedAuto");
  const what = link.orderNumber ? "#" + link.orderNumber : "";
  if (link.customerId && link.customerId !== customer.id) {
    return h("p", { class: "notice tone-warn", role: "note" }, t("linkedElsewhere", { what: what || link.customerId, store: link.store || "—" }));
  }
  return h("p", { class: "linked" }, h("span", { class: "badge tone-ok" }, "✓ " + t("linked")), " ", what, " · ", who);
}

export function candidateList(lookup, page) {
  const candidates = lookup.candidates || [];
  if (!candidates.length) {
    return [h("p", { class: "empty" }, t("noCandidates"))];
  }
  return [
    h(
      "ul",
      { class: "candidates" },
      candidates.map((candidate) => {
        const guest = candidate.kind === "guestOrders";
        const target = guest ? { orderNumber: candidate.orderNumbers[0] } : { customerId: candidate.customerId };
        const label = guest
          ? t("linkOrderLabel", { number: candidate.orderNumbers[0] })
          : t("linkCustomerLabel", { name: candidate.name || candidate.email || "", store: candidate.store || "—" });
        return h(
          "li",
          { class: "candidate" },
          h("div", { class: "candidate-head" }, storeTag(candidate.store), " ", h("strong", {}, guest ? t("guestOrders") : candidate.name || t("registered"))),
          rows([
            [t("email"), candidate.email],
            [t("orders"), candidate.orderNumbers.length ? candidate.orderNumbers.map((n) => "#" + n).join(", ") : null],
          ]),
          h("p", { class: "matched" }, t("matchedBy", { what: candidate.matchedBy.map((input) => matchedWord(input)).join(", ") })),
          linkedTo(lookup.link, candidate) ? h("p", { class: "linked" }, h("span", { class: "badge tone-ok" }, "✓ " + t("linked"))) : linkButton(page, target, label),
        );
      }),
    ),
  ];
}

function matchedWord(input) {
  const word = t("matched." + input);
  return word === "matched." + input ? input : word;
}

function linkedTo(link, candidate) {
  if (!link) {
    return false;
  }
  return candidate.kind === "guestOrders" ? candidate.orderNumbers.includes(link.orderNumber) : link.customerId === candidate.customerId;
}
