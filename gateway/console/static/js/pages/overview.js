// Overview: the pool, workers, queue, error and captcha-refusal rates, upstream trouble; polled.
import { get } from "../api.js";
import { badge, fmt, h, poll, say, section, table } from "../dom.js";

const EVERY_MS = 5000;
const TIERS = { PAYGATE_TIER_TWO: "ultra", PAYGATE_TIER_ONE: "pro", PAYGATE_TIER_NOT_PAID: "free" };

function stats(pairs) {
  return h("dl", { class: "stats" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function byTier(accounts) {
  const rows = {};
  for (const a of accounts) {
    const tier = TIERS[a.tier] || a.tier || a.declared_tier || "unknown";
    const row = (rows[tier] ||= { tier, accounts: 0, serving: 0, credits: 0 });
    row.accounts += 1;
    row.serving += a.state === "active" || a.state === "cooling_down" ? 1 : 0;
    row.credits += a.credits || 0;
  }
  return Object.values(rows).sort((x, y) => y.accounts - x.accounts);
}

function outcomeRates(outcomes) {
  const total = Object.values(outcomes).reduce((s, n) => s + n, 0);
  const ok = outcomes.success || 0;
  return { total, errors: total - ok, captcha: outcomes.captcha || 0 };
}

function draw(body, { health, pool, upstream, accounts }) {
  const rates = outcomeRates(pool.outcomes || {});
  const captcha = health.captcha || {};
  const solved = (captcha.recent_ok || 0) + (captcha.recent_failed || 0);
  const states = Object.entries(pool.accounts || {}).sort((a, b) => b[1] - a[1]);
  const incident = health.upstream_incident;
  const mismatches = Object.entries(upstream.shape_mismatches || {});
  const paused = Object.entries(upstream.paused_features || {});
  body.replaceChildren(
    h("div", { class: "grid" },
      section("Status",
        h("p", { class: "big" }, badge(health.status)),
        health.problems.length ? h("ul", {}, health.problems.map((p) => h("li", {}, p))) : h("p", { class: "muted" }, "Nothing needs a look."),
        stats([["Store", health.store.ok ? "ok" : "down"], ["Webhook backlog", fmt.num(health.webhooks?.backlog)]])),
      section("Accounts by state",
        stats(states.length ? states.map(([s, n]) => [s, fmt.num(n)]) : [["accounts", "0"]])),
      section("Workers",
        stats([["Connected", fmt.num(health.workers.connected)], ["Accounts served", fmt.num(health.workers.accounts)],
          ["Calls in flight", fmt.num(health.workers.in_flight)], ["Captcha refusals", fmt.num(health.workers.captcha_refusals)]])),
      section("Queue",
        stats([["Waiting now", fmt.num(pool.waiting)], ["Waited (since start)", fmt.num(pool.waits)],
          ["Tasks running", fmt.num(health.tasks.running)], ["Cooldowns", fmt.num(pool.cooldowns)],
          ...Object.entries(health.tasks.by_stage || {}).map(([k, n]) => [k, fmt.num(n)])])),
      section("Errors",
        stats([["Upstream outcomes", fmt.num(rates.total)], ["Error rate", fmt.pct(rates.errors, rates.total)],
          ["Captcha refusal rate", fmt.pct(rates.captcha, rates.total)],
          ["Captcha solver", captcha.state || "none"],
          ["Recent solves failed", `${fmt.num(captcha.recent_failed || 0)} of ${fmt.num(solved)}`]])),
      section("Upstream",
        stats([["Incident", incident ? `since ${fmt.time(incident.since)}, ${incident.accounts_failing} accounts failing` : "none"],
          ["Shape mismatches", fmt.num(health.shape_mismatches)],
          ["Paused features", paused.length ? paused.map(([f, until]) => `${f} until ${fmt.time(until)}`).join(", ") : "none"]]),
        mismatches.length ? h("p", { class: "muted" }, `Unknown shapes from: ${mismatches.map(([rpc]) => rpc).join(", ")}`) : null)),
    section("Accounts by tier",
      table("Accounts and Flow credits by tier", [
        { label: "Tier", value: (r) => r.tier },
        { label: "Accounts", value: (r) => fmt.num(r.accounts), num: true },
        { label: "Serving", value: (r) => fmt.num(r.serving), num: true },
        { label: "Credits", value: (r) => fmt.num(r.credits), num: true },
      ], byTier(accounts), "No accounts yet: add some on the Accounts page.")),
    h("p", { class: "muted" }, `Updated ${new Date().toLocaleTimeString()}; every ${EVERY_MS / 1000} s while this tab is visible.`));
}

export async function render(body) {
  let lastStatus = "";
  return poll(async () => {
    const [health, pool, upstream, accounts] = await Promise.all([
      get("/health"), get("/pool"), get("/upstream"), get("/accounts", { limit: 1000 }),
    ]);
    draw(body, { health, pool, upstream, accounts: accounts.data });
    if (lastStatus && lastStatus !== health.status) say(`Gateway status is now ${health.status}.`);
    lastStatus = health.status;
  }, EVERY_MS);
}
