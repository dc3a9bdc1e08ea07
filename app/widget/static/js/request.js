// One call of the gateway's API as a plain result: {ok, status, body} or {ok: false, status, detail}.
// Status 0 means the gateway could not be reached at all. Never throws: each section decides.

export async function getJson(api, path, options) {
  const fresh = options && options.fresh;
  const init = { ...(options || {}) };
  delete init.fresh;
  if (fresh) {
    // The API honours it (docs/cache.md): a read from commercetools within the caller's budget.
    init.headers = { ...(init.headers || {}), "Cache-Control": "no-cache" };
  }
  let response;
  try {
    response = await api(path, init);
  } catch (error) {
    return { ok: false, status: 0, detail: "" };
  }
  if (!response.ok) {
    let detail = "";
    try {
      const problem = await response.json();
      detail = typeof problem.detail === "string" ? problem.detail : "";
    } catch (error) {
      detail = "";
    }
    return { ok: false, status: response.status, detail };
  }
  if (response.status === 204) {
    return { ok: true, status: 204, body: null };
  }
  try {
    return { ok: true, status: response.status, body: await response.json() };
  } catch (error) {
    return { ok: false, status: 502, detail: "" };
  }
}
