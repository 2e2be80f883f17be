// Accounts: filter, add, import, enable/disable, edit limits and groups, and why one is not serving.
import { get, patch, post } from "../api.js";
import { badge, busy, dialog, fail, field, fmt, h, input, say, section, select, table, values } from "../dom.js";

const STATES = ["", "active", "cooling_down", "refreshing", "needs_relogin", "out_of_credits", "needs_worker", "disabled"];
const SERVING = new Set(["active", "cooling_down"]);
const LIMITS = [
  ["image_concurrency", "Images at once"], ["video_concurrency", "Videos at once"], ["rpm", "Requests per minute"],
  ["daily_images", "Images per day"], ["daily_videos", "Videos per day"],
];

function why(a) {
  if (SERVING.has(a.state) && !a.cooldown_until) return "serving";
  const parts = [a.reason || a.state];
  if (a.cooldown_until) parts.push(`until ${fmt.time(a.cooldown_until)}`);
  if (!a.enabled) parts.push("disabled by an operator");
  return parts.join(", ");
}

function limitsOf(a) {
  return { image_concurrency: a.limits.image, video_concurrency: a.limits.video, rpm: a.rpm,
    daily_images: a.daily.images, daily_videos: a.daily.videos };
}

async function details(a) {
  const usage = a.usage || {};
  await dialog(`Account ${a.label || a.id}`, h("div", {},
    h("dl", { class: "stats" },
      [["Id", a.id], ["Kind", a.kind], ["State", a.state], ["Why", why(a)], ["Since", fmt.time(a.since)], ["Tier", a.tier || a.declared_tier || "—"],
        ["Credits", fmt.num(a.credits)], ["Email", a.email || "—"], ["Groups", a.groups.join(", ") || "—"], ["Weight", a.weight],
        ["Session token", a.session_token || "—"], ["Images today", fmt.num(usage.images_today)], ["Videos today", fmt.num(usage.videos_today)],
        ["Failures today", fmt.num(usage.failures_today)], ["Credits today", fmt.num(usage.credits_today)],
        ["Images (total)", fmt.num(usage.images_total)], ["Videos (total)", fmt.num(usage.videos_total)],
        ["Last error", usage.last_error ? `${usage.last_error} (${fmt.ago(usage.last_error_at)})` : "—"]]
        .map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    h("h3", {}, "Its catalogue of models"),
    a.models ? h("p", {}, a.models.join(", ") || "none") : h("p", { class: "muted" }, "Not read yet."),
    a.catalogue_problems?.length ? h("ul", {}, a.catalogue_problems.map((p) => h("li", {}, p))) : null,
    Object.keys(a.refused || {}).length ? [h("h3", {}, "Refused by Flow"), h("pre", {}, JSON.stringify(a.refused, null, 2))] : null));
}

async function edit(a, reload) {
  const form = h("form", { method: "dialog" },
    h("div", { class: "fields" },
      field("Groups", input("groups", { value: a.groups.join(","), autocomplete: "off" }), "Comma-separated, e.g. ultra,team-b"),
      field("Weight", input("weight", { type: "number", min: "0.01", step: "any", value: a.weight })),
      LIMITS.map(([name, label]) => field(label, input(name, { type: "number", min: "0", value: limitsOf(a)[name] }), "0: no limit"))));
  const save = h("button", { type: "submit" }, "Save");
  form.append(h("div", { class: "actions" }, save));
  form.addEventListener("submit", busy(save, async () => {
    const wanted = values(form);
    wanted.groups = form.elements.groups.value.trim();
    await patch(`/accounts/${encodeURIComponent(a.id)}`, wanted);
    say(`Account ${a.label || a.id} saved.`);
    form.closest("dialog").close();
    await reload();
  }));
  await dialog(`Edit ${a.label || a.id}`, form);
}

function row(reload) {
  return (a) => {
    const toggle = h("button", { type: "button", class: a.enabled ? "danger" : "secondary" }, a.enabled ? "Disable" : "Enable");
    toggle.addEventListener("click", busy(toggle, async () => {
      await post(`/accounts/${encodeURIComponent(a.id)}/${a.enabled ? "disable" : "enable"}`);
      say(`Account ${a.label || a.id} ${a.enabled ? "disabled" : "enabled"}.`);
      await reload();
    }));
    const editButton = h("button", { type: "button", class: "ghost" }, "Edit");
    editButton.addEventListener("click", () => edit(a, reload).catch(fail));
    return { a, toggle, editButton };
  };
}

function addForm(reload) {
  const kind = select("kind", [["rest", "REST (session token)"], ["worker", "Browser worker"]]);
  const form = h("form", {},
    h("div", { class: "fields" },
      field("Kind", kind),
      field("Label", input("label", { autocomplete: "off" })),
      field("Session token", input("session_token", { type: "password", autocomplete: "off" }), "REST: the __Secure-next-auth.session-token cookie"),
      field("Worker key", input("worker_key", { autocomplete: "off" }), "Worker: the account key its worker announces"),
      field("Groups", input("groups", { autocomplete: "off" }), "Comma-separated"),
      field("Proxy", input("proxy", { autocomplete: "off", placeholder: "socks5://user:pass@host:1080" }))));
  const add = h("button", { type: "submit" }, "Add the account");
  form.append(add);
  form.addEventListener("submit", busy(add, async () => {
    const created = await post("/accounts", values(form));
    form.reset();
    say(`Account ${created.label || created.id} added (${created.state}).`);
    await reload();
  }));
  return h("details", {}, h("summary", {}, "Add an account"), form);
}

function importForm(reload) {
  const text = h("textarea", { name: "lines", spellcheck: "false" });
  const kind = select("kind", ["rest", "worker"]);
  const groups = input("groups", { autocomplete: "off" });
  const form = h("form", {},
    field("Credentials, one per line", text, "# starts a comment; each line a session token (REST) or a worker key"),
    h("div", { class: "fields" }, field("Kind", kind), field("Groups", groups, "Comma-separated")));
  const go = h("button", { type: "submit" }, "Import");
  form.append(go);
  form.addEventListener("submit", busy(go, async () => {
    const query = new URLSearchParams({ kind: kind.value, groups: groups.value.trim() });
    const result = await post(`/accounts/import?${query}`, text.value, { "Content-Type": "text/plain" });
    text.value = "";
    say(`Imported ${result.added.length}, skipped ${result.skipped.length}.`);
    await reload();
  }));
  return h("details", {}, h("summary", {}, "Import accounts"), form);
}

export async function render(body) {
  const filters = h("form", { class: "inline", role: "search", "aria-label": "Filter accounts" },
    field("State", select("state", STATES)),
    field("Kind", select("kind", ["", "rest", "worker"])),
    field("Group", input("group", { autocomplete: "off" })),
    field("Label or email contains", input("text", { type: "search", autocomplete: "off" })));
  const apply = h("button", { type: "submit" }, "Filter");
  filters.append(apply);
  const list = h("div", { "aria-live": "polite", "aria-busy": "false" });

  async function reload() {
    const wanted = values(filters);
    list.setAttribute("aria-busy", "true");
    const page = await get("/accounts", { limit: 1000, state: wanted.state, kind: wanted.kind, group: wanted.group });
    const needle = (wanted.text || "").toLowerCase();
    const rows = page.data.filter((a) => !needle || `${a.label} ${a.email}`.toLowerCase().includes(needle)).map(row(reload));
    const open = (a) => { const b = h("button", { type: "button", class: "ghost" }, a.label || a.id); b.addEventListener("click", () => details(a).catch(fail)); return b; };
    list.replaceChildren(table(`${rows.length} accounts${page.has_more ? " (first 1000)" : ""}`, [
      { label: "Account", value: (r) => open(r.a) },
      { label: "Kind", value: (r) => r.a.kind },
      { label: "State", value: (r) => badge(r.a.state) },
      { label: "Why not serving", value: (r) => (why(r.a) === "serving" ? "—" : why(r.a)) },
      { label: "Tier", value: (r) => r.a.tier || r.a.declared_tier || "—" },
      { label: "Credits", value: (r) => fmt.num(r.a.credits), num: true },
      { label: "Groups", value: (r) => r.a.groups.join(", ") || "—" },
      { label: "Today (img/vid/fail)", value: (r) => `${r.a.usage?.images_today ?? 0}/${r.a.usage?.videos_today ?? 0}/${r.a.usage?.failures_today ?? 0}` },
      { label: "Actions", value: (r) => h("div", { class: "actions" }, r.toggle, r.editButton) },
    ], rows, "No account matches."));
    list.setAttribute("aria-busy", "false");
  }

  filters.addEventListener("submit", busy(apply, reload));
  body.replaceChildren(section("Find", filters), section("Accounts", list), section("Add", addForm(reload), importForm(reload)));
  await reload();
}
