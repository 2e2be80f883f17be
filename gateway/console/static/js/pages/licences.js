// Licences: create (limits, budgets, allow-lists; the key shown once), rotate, revoke, enable or
// disable, and what is left of each budget (from /admin/usage).
import { del, get, post } from "../api.js";
import { badge, busy, copyButton, dialog, fail, field, fmt, h, input, say, section, select, table, values } from "../dom.js";

const NUMBERS = [
  ["rpm", "Requests per minute"], ["max_concurrency", "Generations at once"],
  ["daily_images", "Images per day"], ["daily_videos", "Videos per day"],
  ["daily_credits", "Credits per day"], ["monthly_credits", "Credits per month"],
];
const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const day = () => new Date().toISOString().slice(0, 10);
const month = () => `${day().slice(0, 8)}01`;

async function showKey(title, issued) {
  await dialog(title, h("div", {},
    h("p", {}, "The key is shown this once: copy it now and hand it over. Only its hash is kept."),
    h("code", { class: "secret", "data-testid": "issued-key" }, issued.key),
    h("div", { class: "actions" }, copyButton(issued.key, "Copy the key")),
    issued.webhook_secret ? [
      h("p", {}, "Webhook signing secret (also shown once):"),
      h("code", { class: "secret" }, issued.webhook_secret),
      h("div", { class: "actions" }, copyButton(issued.webhook_secret, "Copy the secret"))] : null));
}

function createForm(reload) {
  const form = h("form", {},
    h("div", { class: "fields" },
      field("Name", input("name", { required: true, autocomplete: "off" })),
      field("Owner", input("owner", { autocomplete: "off" }), "Who to ask about it"),
      field("Expires", input("expires", { type: "date" }), "Empty: never"),
      field("Models", input("models", { autocomplete: "off", placeholder: "veo_3_1*, nano_banana*" }), "Patterns, comma-separated; empty: all"),
      field("Account groups", input("groups", { autocomplete: "off" }), "Comma-separated; empty: all"),
      NUMBERS.map(([name, label]) => field(label, input(name, { type: "number", min: "0" }), "Empty or 0: no limit")),
      field("Priority", input("priority", { type: "number", min: "-10", max: "10" }), "-10 to 10: who waits less"),
      field("Chat progress", select("progress", [["", "default"], "reasoning", "content", "off"])),
      field("Webhook URL", input("webhook_url", { type: "url", autocomplete: "off" }))),
    field("Notes", h("textarea", { name: "notes" })));
  const create = h("button", { type: "submit" }, "Create the licence");
  form.append(create);
  form.addEventListener("submit", busy(create, async () => {
    const wanted = values(form);
    for (const name of ["models", "groups"]) if (wanted[name]) wanted[name] = list(wanted[name]);
    if (wanted.expires) wanted.expires_at = Date.parse(`${wanted.expires}T00:00:00Z`) / 1000;
    delete wanted.expires;
    const issued = await post("/licences", wanted);
    form.reset();
    say(`Licence ${issued.name} created.`);
    await reload();
    await showKey(`Licence ${issued.name}`, issued);
  }));
  return form;
}

function remaining(limit, used) {
  return limit ? `${fmt.num(Math.max(0, limit - used))} of ${fmt.num(limit)}` : "no budget";
}

function actions(l, reload) {
  const id = encodeURIComponent(l.id);
  const buttons = [];
  const act = (label, cls, work) => {
    const b = h("button", { type: "button", class: cls }, label);
    b.addEventListener("click", busy(b, work));
    buttons.push(b);
  };
  if (l.status === "revoked") return "—";
  if (l.source === "config") return h("small", {}, "From the config file: change it there.");
  act("Rotate", "secondary", async () => {
    const issued = await post(`/licences/${id}/rotate`, {});
    say(`Licence ${l.name} rotated; the old key works until ${fmt.time(issued.previous_key_until)}.`);
    await reload();
    await showKey(`New key for ${l.name}`, issued);
  });
  act(l.enabled ? "Disable" : "Enable", "ghost", async () => {
    await post(`/licences/${id}/${l.enabled ? "disable" : "enable"}`);
    say(`Licence ${l.name} ${l.enabled ? "disabled" : "enabled"}.`);
    await reload();
  });
  act("Revoke", "danger", async () => {
    if (!window.confirm(`Revoke ${l.name}? Its keys stop working at once, for good.`)) return;
    await del(`/licences/${id}`);
    say(`Licence ${l.name} revoked.`);
    await reload();
  });
  return h("div", { class: "actions" }, buttons);
}

export async function render(body) {
  const listBox = h("div", {});
  async function reload() {
    const [licences, today, thisMonth] = await Promise.all([
      get("/licences", { limit: 1000 }),
      get("/usage", { group_by: "licence_id", since: day() }),
      get("/usage", { group_by: "licence_id", since: month() }),
    ]);
    const used = (rows, id) => rows.data.find((r) => r.licence_id === id)?.credits || 0;
    listBox.replaceChildren(table(`${licences.data.length} licences`, [
      { label: "Licence", value: (l) => h("span", {}, l.name || l.id, h("br"), h("small", {}, `${l.id} · ${l.key_hint || ""}`)) },
      { label: "Status", value: (l) => badge(l.status) },
      { label: "Models", value: (l) => l.models.join(", ") || "all" },
      { label: "Credits left today", value: (l) => remaining(l.daily_credits, used(today, l.id)) },
      { label: "Credits left this month", value: (l) => remaining(l.monthly_credits, used(thisMonth, l.id)) },
      { label: "Limits", value: (l) => NUMBERS.slice(0, 4).filter(([n]) => l[n]).map(([n, label]) => `${label}: ${l[n]}`).join("; ") || "none" },
      { label: "Expires", value: (l) => (l.expires_at ? fmt.time(l.expires_at) : "never") },
      { label: "Actions", value: (l) => actions(l, reload) },
    ], licences.data, "No licences yet."));
  }
  body.replaceChildren(section("Licences", listBox), section("Create a licence", createForm(reload)));
  await reload().catch(fail);
}
