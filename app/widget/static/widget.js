// The widget's entry script (CSP: script-src 'self'). Holds the API token in this module's scope
// only: never in the URL, localStorage or a cookie. Reads the case's lookup parameters from the
// body once, removes them, and drops the signed query from the address bar before anything loads.

import { start } from "./js/sections.js";

const body = document.body;
let token = body.getAttribute("data-token");
const expiresIn = Number(body.getAttribute("data-expires-in")) || 0;
const context = {
  lookup: body.getAttribute("data-lookup") || "",
  ticketId: body.getAttribute("data-ticket") || "",
  locale: body.getAttribute("data-locale") || "",
  canReveal: body.getAttribute("data-can-reveal") === "true",
  canLink: body.getAttribute("data-can-link") === "true",
};
for (const name of ["data-token", "data-expires-in", "data-lookup", "data-ticket", "data-locale", "data-can-reveal", "data-can-link"]) {
  body.removeAttribute(name);
}
if (window.history && window.history.replaceState) {
  window.history.replaceState(null, "", window.location.pathname);
}

function renew() {
  fetch("/widget/token", { method: "POST", headers: { Authorization: "Bearer " + token } })
    .then((response) => {
      if (!response.ok) {
        throw new Error("renewal refused");
      }
      return response.json();
    })
    .then((issued) => {
      token = issued.token;
      schedule(issued.expiresIn);
    })
    .catch(() => {
      body.setAttribute("data-session", "ended");
    });
}

function schedule(seconds) {
  // Renew at four fifths of the lifetime: early enough to survive a slow answer.
  window.setTimeout(renew, Math.max(1, seconds * 0.8) * 1000);
}

// fetch() with the page's token; options.headers are added to the defaults.
function api(path, options) {
  const extra = (options && options.headers) || {};
  const init = { ...(options || {}), headers: { Authorization: "Bearer " + token, Accept: "application/json", ...extra } };
  return fetch(path, init);
}

if (token) {
  schedule(expiresIn);
  window.ctnmWidget = { api };
  start(api, context);
}
