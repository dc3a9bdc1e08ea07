// The widget's only script (CSP: script-src 'self'). Holds the API token in this closure only:
// never in the URL, localStorage or a cookie, and drops the signed query from the address bar.
"use strict";
(function () {
  var body = document.body;
  var token = body.getAttribute("data-token");
  var expiresIn = Number(body.getAttribute("data-expires-in")) || 0;
  body.removeAttribute("data-token");
  body.removeAttribute("data-expires-in");
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  if (!token) {
    return;
  }
  function renew() {
    fetch("/widget/token", { method: "POST", headers: { Authorization: "Bearer " + token } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("renewal refused");
        }
        return response.json();
      })
      .then(function (issued) {
        token = issued.token;
        schedule(issued.expiresIn);
      })
      .catch(function () {
        body.setAttribute("data-session", "ended");
      });
  }
  function schedule(seconds) {
    // Renew at four fifths of the lifetime: early enough to survive a slow answer.
    window.setTimeout(renew, Math.max(1, seconds * 0.8) * 1000);
  }
  schedule(expiresIn);
  window.ctnmWidget = {
    api: function (path) {
      return fetch(path, { headers: { Authorization: "Bearer " + token, Accept: "application/json" } });
    },
  };
})();
