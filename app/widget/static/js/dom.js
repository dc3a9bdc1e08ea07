// Building DOM nodes without innerHTML: every value from the API becomes a text node, never markup.

import { kindWord, statusWord, t, toneOf } from "./i18n.js";

// h("p", { class: "x", onclick: fn }, "text", child, [more]) -> HTMLElement
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value == null || value === false) {
      continue;
    }
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child == null || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(element, child);
    } else {
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
}

// A section: its body replaced, its busy flag cleared (the skeleton goes with the old body).
export function fill(sectionId, ...children) {
  const section = document.getElementById(sectionId);
  const body = section.querySelector(".card-body");
  body.replaceChildren();
  append(body, children);
  section.setAttribute("aria-busy", "false");
  return body;
}

export function loading(sectionId, lines) {
  const spans = Array.from({ length: lines || 3 }, () => h("span"));
  fill(sectionId, h("div", { class: "skeleton", "aria-hidden": "true" }, spans), h("p", { class: "visually-hidden" }, t("loading")));
  document.getElementById(sectionId).setAttribute("aria-busy", "true");
}

// The plain-words line a section shows when its call failed; the rest of the page carries on.
export function errorLine(failure) {
  return h("p", { class: "error-line", role: "status" }, failureWords(failure));
}

// What a failed call means for the agent, in words: by status, else the status named.
export function failureWords(failure) {
  const key = failure.status === 0 ? "network" : String(failure.status);
  const known = t("error." + key, { detail: failure.detail || "", status: failure.status });
  return known === "error." + key ? t("error.other", { status: failure.status }) : known;
}

// A status badge: the tone is a colour AND a word (never colour alone).
export function badge(kind, value, statusKind) {
  const tone = value == null ? "neutral" : toneOf(value);
  return h(
    "span",
    { class: "badge tone-" + tone, "data-kind": kind, "data-value": value || "" },
    h("span", { class: "badge-kind" }, kindWord(kind) + ":"),
    " ",
    statusWord(statusKind || kind, value),
  );
}

// Label/value rows; a row whose value is null or empty is left out.
export function rows(pairs) {
  const items = pairs.filter(([, value]) => value != null && value !== "" && !(Array.isArray(value) && !value.length));
  return h("dl", { class: "rows" }, items.map(([label, value]) => h("div", { class: "row" }, h("dt", {}, label), h("dd", {}, value))));
}

export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // A change after clearing makes screen readers announce the same words twice in a row too.
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}
