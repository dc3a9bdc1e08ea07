// "Link to this ticket": PUT /v1/links/{ticketId} for the customer or order the agent chose.

import { announce, failureWords, h } from "./dom.js";
import { t } from "./i18n.js";

export function linkButton(page, target, label) {
  if (!page.context.canLink) {
    return null;
  }
  const button = h("button", { type: "button", class: "button link", "aria-label": label }, t("linkThis"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    const result = await page.get("/v1/links/" + encodeURIComponent(page.context.ticketId), {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(target),
    });
    if (!result.ok) {
      button.disabled = false;
      const message = t("linkFailed", { reason: failureWords(result) });
      button.after(h("p", { class: "error-line", role: "status" }, message));
      return;
    }
    announce(t("linkDone"));
    page.linked(result.body);
  });
  return button;
}
