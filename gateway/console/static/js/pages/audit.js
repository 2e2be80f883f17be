// Audit: who changed what, when (secrets already hinted by the audit trail).
import { get } from "../api.js";
import { busy, field, fmt, h, input, section, table, values } from "../dom.js";

const PAGE = 100;

function changes(entry) {
  const before = entry.before || {}, after = entry.after || {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]) && k !== "updated_at");
  if (!entry.before || !entry.after) return h("details", {}, h("summary", {}, entry.after ? "created" : "removed"), h("pre", {}, JSON.stringify(entry.after || entry.before, null, 2)));
  return names.length ? h("ul", {}, names.map((k) => h("li", {}, h("code", {}, k), `: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`))) : "—";
}

export async function render(body) {
  const filters = h("form", { class: "inline", role: "search", "aria-label": "Filter the audit trail" },
    field("Target (an id)", input("target", { autocomplete: "off" })));
  const apply = h("button", { type: "submit" }, "Filter");
  filters.append(apply);
  const listBox = h("div", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Older…");
  let entries = [];

  // The API pages oldest first from a sequence number; the newest entries are found by a binary
  // search for the last number (a few small requests), then read in a span before it.
  let newest = 0, span = PAGE;

  async function exists(target, after) {
    return (await get("/audit", { target, after, limit: 1 })).data.length > 0;
  }

  async function lastSeq(target) {
    if (!(await exists(target, 0))) return 0;
    let lo = 0, hi = 1;
    while (await exists(target, hi)) { lo = hi; hi *= 2; }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await exists(target, mid)) lo = mid; else hi = mid;
    }
    return hi;
  }

  async function load() {
    const { target } = values(filters);
    let after = Math.max(0, newest - span), read = [];
    for (;;) {
      const page = await get("/audit", { target, after, limit: 1000 });
      read = read.concat(page.data);
      if (!page.has_more) break;
      after = page.last_seq;
    }
    entries = read.reverse();
    if (entries.length < PAGE && newest - span > 0) {
      span *= 4;
      return load();
    }
    draw(newest - span > 0);
  }

  async function reload() {
    span = PAGE;
    newest = await lastSeq(values(filters).target);
    await load();
  }

  function draw(older) {
    more.hidden = !older;
    listBox.replaceChildren(table(`${entries.length} changes, newest first`, [
      { label: "When", value: (e) => fmt.time(e.at) },
      { label: "Who", value: (e) => e.actor },
      { label: "What", value: (e) => e.action },
      { label: "Target", value: (e) => e.target },
      { label: "Changes", value: changes },
    ], entries, "No change recorded."));
  }

  more.addEventListener("click", busy(more, async () => { span *= 2; await load(); }));
  filters.addEventListener("submit", busy(apply, reload));
  body.replaceChildren(section("Find", filters), section("Audit trail", listBox, more));
  await reload();
}
