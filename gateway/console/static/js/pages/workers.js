// Workers: the browser workers connected now; enrolling one (a token of its own, shown once, as
// the extension's settings and the Playwright command), revoking one; the shared secret fallback.
import { apiBase, del, get, post } from "../api.js";
import { badge, busy, copyButton, dialog, field, fmt, h, input, poll, say, section, table } from "../dom.js";

const EVERY_MS = 5000;

export function socketUrl() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${apiBase}/flow-worker`;
}

export function connectHelp(secret, note) {
  const command = [
    "python workers/playwright/flow_worker.py",
    `--gateway "${socketUrl()}"`,
    `--secret "${secret}"`,
    '--profile ./worker-profile --account my-account --project "<Flow project id>"',
    "--tier ultra --groups browser --chromium /usr/bin/chromium",
  ].join(" \\\n  ");
  return h("div", {},
    note ? h("p", {}, note) : null,
    h("h3", {}, "The Chrome extension (workers/extension): its options page"),
    h("dl", { class: "stats" },
      h("dt", {}, "Gateway"), h("dd", {}, h("code", {}, socketUrl())),
      h("dt", {}, "Secret"), h("dd", {}, h("code", {}, secret))),
    h("h3", {}, "The Playwright worker"),
    h("pre", {}, command),
    h("div", { class: "actions" }, copyButton(command, "Copy the command")));
}

function enrolForm(reload) {
  const name = input("name", { required: true, autocomplete: "off", placeholder: "kitchen laptop" });
  const go = h("button", { type: "submit" }, "Enrol");
  const form = h("form", { class: "inline" }, field("Worker name", name, "Who or where it runs"), go);
  form.addEventListener("submit", busy(go, async () => {
    const enrolled = await post("/workers/enrolments", { name: name.value.trim() });
    form.reset();
    say(`Worker ${enrolled.name} enrolled.`);
    await reload();
    await dialog(`Worker ${enrolled.name}`, h("div", {},
      h("p", {}, "Its token is shown this once; it takes the place of the shared secret. Only its hash is kept."),
      h("code", { class: "secret", "data-testid": "enrolment-token" }, enrolled.token),
      h("div", { class: "actions" }, copyButton(enrolled.token, "Copy the token")),
      connectHelp(enrolled.token)));
  }));
  return form;
}

function revokeButton(e, reload) {
  if (e.revoked_at) return "—";
  const b = h("button", { type: "button", class: "danger" }, "Revoke");
  b.addEventListener("click", busy(b, async () => {
    if (!window.confirm(`Revoke ${e.name}? Its token stops working and its worker is disconnected.`)) return;
    await del(`/workers/enrolments/${encodeURIComponent(e.id)}`);
    say(`Worker ${e.name} revoked.`);
    await reload();
  }));
  return b;
}

export async function render(body) {
  const list = h("div", {});
  const enrolled = h("div", {});
  async function reloadEnrolments() {
    const rows = (await get("/workers/enrolments")).data.slice().reverse();
    enrolled.replaceChildren(table(`${rows.length} enrolled workers, newest first`, [
      { label: "Worker", value: (e) => e.name },
      { label: "Token", value: (e) => h("code", {}, e.token_hint) },
      { label: "Enrolled", value: (e) => fmt.time(e.created_at) },
      { label: "State", value: (e) => (e.revoked_at ? badge("revoked") : e.connected ? badge("connected", ["connected"]) : badge("not connected", [])) },
      { label: "Actions", value: (e) => revokeButton(e, reloadEnrolments) },
    ], rows, "No worker enrolled yet."));
  }
  body.replaceChildren(
    section("Connected", list),
    section("Enrol a browser worker", enrolForm(reloadEnrolments), enrolled),
    section("Or connect with the shared secret",
      connectHelp("$WORKER_SECRET", "The [workers] secret still works for every worker (the console never shows it); enrolled tokens can be revoked one by one."),
    ),
  );
  await reloadEnrolments();
  return poll(async () => {
    const workers = (await get("/workers")).data;
    list.replaceChildren(table(`${workers.length} workers connected (updated ${new Date().toLocaleTimeString()})`, [
      { label: "Worker", value: (w) => w.worker_id },
      { label: "Accounts it serves", value: (w) => w.accounts.join(", ") || "—" },
      { label: "Calls in flight", value: (w) => fmt.num(w.in_flight), num: true },
      { label: "Captcha refusals", value: (w) => fmt.num(w.captcha_refusals), num: true },
    ], workers, "No worker is connected."));
  }, EVERY_MS);
}
