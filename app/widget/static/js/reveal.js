// A masked personal value with a "Show" button for roles with pii:read: one field, fetched on
// request, audited by the gateway with the agent's id. Nothing personal is fetched unasked.

import { failureWords, h } from "./dom.js";
import { t } from "./i18n.js";

// options: page, masked, path (the field's API path), label, value (masked text), render (value -> text);
// or fetch and key instead of path: a function returning a promise of the text (a value made of
// several fields) and the name it is remembered under until Refresh.
export function revealable(options) {
  const key = options.key || options.path;
  const known = options.page.revealed.get(key);
  if (known !== undefined) {
    // Shown before (and audited then): a section drawn again keeps it, without another read.
    return h("span", { class: "value revealed" }, known || "—");
  }
  const shown = h("span", { class: "value" + (options.masked ? " masked" : "") }, options.value || "—");
  if (!options.masked || !options.page.context.canReveal) {
    return shown;
  }
  const wrapper = h("span", { class: "revealable" }, shown, " ");
  const button = h(
    "button",
    { type: "button", class: "button small", "aria-label": t("showLabel", { field: options.label }) },
    t("show"),
  );
  button.addEventListener("click", async () => {
    button.disabled = true;
    let text;
    try {
      text = await (options.fetch ? options.fetch() : fetchValue(options));
    } catch (failure) {
      button.disabled = false;
      wrapper.append(h("span", { class: "error-line", role: "status" }, t("revealFailed", { reason: failureWords(failure) })));
      return;
    }
    options.page.revealed.set(key, text);
    shown.textContent = text || "—";
    shown.className = "value revealed";
    shown.setAttribute("tabindex", "-1");
    button.remove();
    shown.focus();
  });
  wrapper.append(button);
  return wrapper;
}

async function fetchValue(options) {
  const result = await options.page.get(options.path);
  if (!result.ok) {
    throw result;
  }
  const value = result.body.value;
  if (typeof options.render === "function") {
    return options.render(value);
  }
  return Array.isArray(value) ? value.join(", ") : value;
}
