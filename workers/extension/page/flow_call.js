// The page-side function every reference worker runs in a signed-in flow.google.com project tab
// (the page's MAIN world): read WIZ_global_data, mint a reCAPTCHA token with the page's own
// grecaptcha.enterprise when the call needs one, substitute it for the placeholder in the f.req the
// gateway built, POST batchexecute with the page's cookies, and return the raw reply text.
// It defines window.__flowGatewayCall; the Chrome extension injects this file, the Playwright worker
// installs it as an init script. It never returns or logs cookies, the `at` token or the reCAPTCHA token.
(function () {
  "use strict";
  if (window.__flowGatewayCall) { return; }  // injected again: keep the one mint gate of this page
  const ENDPOINT = "/_/AiSandboxAngularFrontend/data/batchexecute";
  const DEFAULT_SITE_KEY = "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV";
  const RPCID = /^[A-Za-z0-9_-]{3,32}$/;
  // Mint→dispatch must not overlap in one tab (overlapping mints interfere): one gate per page.
  let gate = Promise.resolve();

  function failure(code, message, retryable) {
    return { ok: false, error: { code: code, message: String(message).slice(0, 300), retryable: retryable } };
  }

  function wiz() {
    const data = window.WIZ_global_data || {};
    return { at: data.SNlM0e || "", sid: data.FdrFJe || "", bl: data.cfb2h || "", siteKey: data.xZbWve || DEFAULT_SITE_KEY };
  }

  async function mint(siteKey, action) {
    const enterprise = window.grecaptcha && window.grecaptcha.enterprise;
    if (!enterprise) { throw Object.assign(new Error("grecaptcha.enterprise is not on this page"), { code: "CAPTCHA_FAILED" }); }
    await new Promise(function (resolve) { enterprise.ready(resolve); });
    return await enterprise.execute(siteKey, { action: action });
  }

  async function call(request) {
    if (!RPCID.test(request.rpcid || "")) { return failure("BAD_REQUEST", "bad rpcid", false); }
    const page = wiz();
    if (!page.at) { return failure(location.pathname.startsWith("/about") ? "SIGNED_OUT" : "NO_AT_TOKEN", "no at token on the page", false); }
    let release;
    const turn = gate.then(function () { return new Promise(function (r) { release = r; }); });
    const previous = gate;
    gate = turn;
    await previous;
    try {
      let freq = request.freq;
      if (request.captcha) {
        let token;
        try { token = await mint(page.siteKey, request.captcha.action); }
        catch (err) { return failure("CAPTCHA_FAILED", err.message || err, true); }
        freq = freq.split(request.captcha.placeholder).join(token);
      }
      const query = new URLSearchParams({ rpcids: request.rpcid, "source-path": request.source_path, bl: page.bl,
        "f.sid": page.sid, hl: document.documentElement.lang || "en", _reqid: String(100000 + Math.floor(Math.random() * 900000)), rt: "c" });
      const body = new URLSearchParams({ "f.req": freq, at: page.at }).toString() + "&";
      const pending = fetch(ENDPOINT + "?" + query.toString(), { method: "POST", credentials: "include",
        headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8", "x-same-domain": "1" }, body: body });
      release();  // dispatched: the next call may mint now
      let reply;
      try { reply = await pending; } catch (err) { return failure("FETCH_FAILED", err.message || err, false); }
      const text = await reply.text();
      const max = (request.response && request.response.max_bytes) || 16000000;
      return { ok: true, http_status: reply.status, body: text.slice(0, max), truncated: text.length > max };
    } finally {
      if (release) { release(); }
    }
  }

  // What the gateway may know about the tab: presence only, never the values of cookies or tokens.
  function probe() {
    const data = window.WIZ_global_data || {};
    const enterprise = window.grecaptcha && window.grecaptcha.enterprise;
    return { flow_tab: location.hostname !== "", at_present: Boolean(data.SNlM0e), signed_in: Boolean(data.S06Grb),
      landing: location.pathname, bl: data.cfb2h || "", grecaptcha_ready: Boolean(enterprise) };
  }

  window.__flowGatewayCall = call;
  window.__flowGatewayProbe = probe;
})();
