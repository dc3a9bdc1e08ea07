// The page's sections and their order of filling: the lookup (customer, candidates, orders), then
// the selected order; the pushed updates in parallel. Each section shows its own error line and
// never blocks the others. Refresh reads everything again with Cache-Control: no-cache.

import { candidateList, customerCard } from "./customer.js";
import { announce, errorLine, fill, h, loading } from "./dom.js";
import { clockTime } from "./format.js";
import { currentLanguage, languageOf, setLanguage, t } from "./i18n.js";
import { orderDetail } from "./order.js";
import { orderList, ordersOf } from "./orders.js";
import { pushList } from "./pushes.js";
import { getJson } from "./request.js";

export function start(api, context) {
  const state = { lookup: null, orders: [], selected: null, results: {} };
  const page = {
    context,
    get: (path, options) => getJson(api, path, options),
    revealed: new Map(),
    // A new link can change who the ticket is about: the lookup ranks the linked customer first.
    linked: async (link) => {
      state.selected = link.orderNumber || null;
      await loadLookup(false);
      await loadOrder(false);
    },
  };
  setLanguage(languageOf(context.locale));

  // Each section remembers its last result and can be drawn again (e.g. when the language changes).
  function render() {
    renderLookup();
    renderOrder();
    renderPushes();
    renderFreshness();
  }

  function renderLookup() {
    const result = state.results.lookup;
    if (!result) {
      return;
    }
    if (!result.ok) {
      for (const id of ["customer", "candidates", "orders"]) {
        fill(id, errorLine(result));
      }
      if (!state.selected) {
        fill("order", h("p", { class: "empty" }, t("selectFirst")));
      }
      return;
    }
    fill("customer", customerCard(state.lookup, page));
    fill("candidates", candidateList(state.lookup, page));
    fill("orders", orderList(state.orders, state.selected, select));
  }

  function renderOrder() {
    const result = state.results.order;
    if (!result) {
      if (state.results.lookup && !state.selected) {
        fill("order", h("p", { class: "empty" }, t("selectFirst")));
      }
      return;
    }
    fill("order", result.ok ? orderDetail(result.body, page, state.lookup && state.lookup.link) : errorLine(result));
    if (result.ok && !performance.getEntriesByName("ctnm:order-filled").length) {
      performance.mark("ctnm:order-filled"); // what scripts/bench_widget.py times
    }
  }

  function renderPushes() {
    if (!context.ticketId) {
      fill("pushes", h("p", { class: "empty" }, t("noTicket")));
      return;
    }
    const result = state.results.pushes;
    if (result) {
      fill("pushes", result.ok ? pushList(result.body) : errorLine(result));
    }
  }

  // "Data as of" the oldest view on screen, and a Stale marker when any of them is stale.
  function renderFreshness() {
    const views = [state.lookup && state.lookup.customer, state.results.order && state.results.order.ok ? state.results.order.body : null].filter(Boolean);
    const times = views.map((view) => view.fetchedAt).filter(Boolean).sort();
    const stale = views.filter((view) => view.stale);
    const line = document.getElementById("as-of");
    line.replaceChildren();
    if (times.length) {
      line.append(h("span", {}, t("dataAsOf", { time: clockTime(times[0]) })));
    }
    if (stale.length) {
      // The marker here; the words next to the stale view itself (the order section).
      line.append(" ", h("span", { class: "badge tone-warn stale-marker", "data-stale": "true" }, "⚠ " + t("stale")));
    }
  }

  // Without a locale in the link, the labels follow the market of the first view that arrives;
  // whatever was drawn before in the other language is drawn again.
  function settleLanguage(market) {
    if (context.locale || !market || languageOf(market) === currentLanguage()) {
      return;
    }
    setLanguage(languageOf(market));
    render();
  }

  async function loadLookup(fresh) {
    // masked=true: even a role with pii:read sees masked data until it asks for one field.
    const query = context.lookup + (context.lookup ? "&" : "") + "masked=true";
    const result = await page.get("/v1/lookup?" + query, { fresh });
    state.results.lookup = result;
    if (result.ok) {
      state.lookup = result.body;
      state.orders = ordersOf(result.body);
      const link = result.body.link;
      const wanted = (result.body.order && result.body.order.orderNumber) || (link && link.orderNumber) || (state.orders[0] && state.orders[0].orderNumber);
      if (!state.selected) {
        state.selected = wanted || null; // the link's order stays chosen even when the lookup lists others
      }
      const body = result.body;
      settleLanguage((body.customer && body.customer.locale) || (body.order && body.order.locale) || (state.orders[0] && state.orders[0].locale));
    }
    renderLookup();
    if (state.results.order && result.ok && result.body.link) {
      renderOrder(); // drawn before the lookup came: now it knows whether the ticket links this order
    }
    renderFreshness();
    return result;
  }

  async function loadOrder(fresh) {
    if (!state.selected) {
      state.results.order = null;
      renderOrder();
      return;
    }
    const number = state.selected;
    loading("order", 5);
    const result = await page.get("/v1/orders/" + encodeURIComponent(number) + "?masked=true", { fresh });
    if (state.selected !== number) {
      return; // the agent chose another order meanwhile
    }
    state.results.order = result;
    if (result.ok) {
      settleLanguage(result.body.locale);
    }
    renderOrder();
    renderFreshness();
  }

  async function loadPushes() {
    if (!context.ticketId) {
      renderPushes();
      return;
    }
    state.results.pushes = await page.get("/v1/tickets/" + encodeURIComponent(context.ticketId) + "/pushes");
    renderPushes();
  }

  function select(orderNumber) {
    if (!orderNumber || orderNumber === state.selected) {
      return;
    }
    state.selected = orderNumber;
    fill("orders", orderList(state.orders, state.selected, select));
    const chosen = document.querySelector('[data-order-number="' + CSS.escape(orderNumber) + '"]');
    if (chosen) {
      chosen.focus();
    }
    loadOrder(false);
  }

  async function refresh() {
    page.revealed.clear(); // a refreshed view is masked again: the agent asks anew if still needed
    const button = document.getElementById("refresh");
    button.disabled = true;
    button.textContent = t("refreshing");
    for (const id of ["customer", "candidates", "orders", "pushes"]) {
      loading(id, 3);
    }
    await Promise.all([loadLookup(true).then(() => loadOrder(true)), loadPushes()]);
    button.disabled = false;
    button.textContent = t("refresh");
    announce(document.getElementById("as-of").textContent);
  }

  document.getElementById("refresh").addEventListener("click", refresh);

  // The order named in the link can load beside the lookup rather than after it.
  const named = new URLSearchParams(context.lookup).get("orderNumber");
  if (named) {
    state.selected = named;
  }
  const first = named ? Promise.all([loadLookup(false), loadOrder(false)]) : loadLookup(false).then(() => loadOrder(false));
  Promise.all([first, loadPushes()]).then(() => {
    document.body.setAttribute("data-ready", "true");
  });
}
