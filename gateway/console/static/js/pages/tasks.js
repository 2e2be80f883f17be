// Tasks: every licence's videos and asynchronous images; filter, inspect, cancel before submit,
// preview results (through /console/media, which redirects to a signed URL).
import { get, post } from "../api.js";
import { badge, busy, dialog, fail, field, fmt, h, input, say, section, select, table, values } from "../dom.js";

const PAGE = 50;

export function preview(task) {
  const media = (id) => `/console/media/${encodeURIComponent(id)}`;
  if (!task.results?.length) return null;
  return h("div", { class: "preview" }, task.results.map((id) => task.kind === "video"
    ? h("video", { controls: true, preload: "metadata", src: media(id), poster: task.poster ? media(task.poster) : null, "aria-label": `Video of task ${task.id}` })
    : h("img", { src: media(id), alt: `Image from task ${task.id}: ${task.prompt}`, loading: "lazy" })));
}

function timings(t) {
  const queued = t.submitted_at ? t.submitted_at - t.created_at : null;
  const ran = t.completed_at && t.submitted_at ? t.completed_at - t.submitted_at : null;
  return [["Created", fmt.time(t.created_at)], ["Submitted to Flow", fmt.time(t.submitted_at)], ["Completed", fmt.time(t.completed_at)],
    ["Waited before submit", queued === null ? "—" : `${queued.toFixed(1)} s`], ["Upstream time", ran === null ? "—" : `${ran.toFixed(1)} s`]];
}

async function inspect(id) {
  const t = await get(`/tasks/${encodeURIComponent(id)}`);
  const pairs = [["Id", t.id], ["Licence", t.owner], ["Kind", t.kind], ["Model", t.model], ["Status", `${t.status} (${t.stage})`],
    ["Progress", `${t.progress} %`], ["Account", t.account_id || "—"], ["Attempts", t.attempts], ...timings(t),
    ["Upstream job", t.job ? `${t.job.name} (project ${t.job.project_id})` : "—"],
    ["Error", t.error_code ? `${t.error_code}: ${t.error_message}` : "—"], ["Inputs", t.inputs.join(", ") || "—"]];
  await dialog(`Task ${t.id}`, h("div", {},
    h("dl", { class: "stats" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    h("h3", {}, "Prompt"), h("p", {}, t.prompt || "—"),
    h("h3", {}, "Request"), h("pre", {}, JSON.stringify(t.order, null, 2)),
    preview(t)));
}

export async function render(body) {
  const filters = h("form", { class: "inline", role: "search", "aria-label": "Filter tasks" },
    field("Licence", input("owner", { autocomplete: "off" })),
    field("Kind", select("kind", ["", "video", "image"])),
    field("Status", select("status", ["", "queued", "in_progress", "completed", "failed"])));
  const apply = h("button", { type: "submit" }, "Filter");
  filters.append(apply);
  const listBox = h("div", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  let rows = [], last = null;

  function draw() {
    listBox.replaceChildren(table(`${rows.length} tasks, newest first`, [
      { label: "Task", value: (t) => { const b = h("button", { type: "button", class: "ghost" }, t.id); b.addEventListener("click", () => inspect(t.id).catch(fail)); return b; } },
      { label: "Kind", value: (t) => t.kind },
      { label: "Model", value: (t) => t.model },
      { label: "Licence", value: (t) => t.owner },
      { label: "Status", value: (t) => h("span", {}, badge(t.status), " ", h("small", {}, t.stage)) },
      { label: "Progress", value: (t) => `${t.progress} %`, num: true },
      { label: "Created", value: (t) => fmt.time(t.created_at) },
      { label: "Error", value: (t) => t.error_code || "—" },
      { label: "Actions", value: (t) => cancelButton(t) },
    ], rows, "No task matches."));
  }

  function cancelButton(t) {
    if (t.status !== "queued" || t.stage !== "queued") return "—";
    const b = h("button", { type: "button", class: "danger" }, "Cancel");
    b.addEventListener("click", busy(b, async () => {
      await post(`/tasks/${encodeURIComponent(t.id)}/cancel`);
      say(`Task ${t.id} cancelled.`);
      await reload();
    }));
    return b;
  }

  async function load(after) {
    const page = await get("/tasks", { ...values(filters), limit: PAGE, after });
    rows = after ? rows.concat(page.data) : page.data;
    last = page.last_id;
    more.hidden = !page.has_more;
    draw();
  }
  const reload = () => load(null);

  filters.addEventListener("submit", busy(apply, reload));
  more.addEventListener("click", busy(more, () => load(last)));
  body.replaceChildren(section("Find", filters), section("Tasks", listBox, more));
  await reload();
}
