// Usage: generations and Flow credits by day, model, licence or account, as bars and a table; CSV.
import { get, query } from "../api.js";
import { bars, busy, field, fmt, h, section, select, table, values } from "../dom.js";

const GROUPS = [["day", "Day"], ["model", "Model"], ["licence_id", "Licence"], ["account_id", "Account"], ["kind", "Kind"]];
const MEASURES = [["credits", "Flow credits"], ["requests", "Requests"], ["images", "Images"], ["videos", "Videos"], ["failed", "Failed"]];
const RANGES = [["7", "Last 7 days"], ["30", "Last 30 days"], ["1", "Today"], ["90", "Last 90 days"]];

function since(days) {
  const d = new Date(Date.now() - (Number(days) - 1) * 86400000);
  return d.toISOString().slice(0, 10);
}

// Licence names for a report by licence (the report itself carries ids only).
async function licenceNames(groupBy) {
  if (groupBy !== "licence_id") return {};
  const licences = await get("/licences", { limit: 1000 });
  return Object.fromEntries(licences.data.map((l) => [l.id, l.name]));
}

export async function render(body) {
  const form = h("form", { class: "inline", "aria-label": "Usage report" },
    field("Group by", select("group_by", GROUPS)),
    field("Range", select("range", RANGES)),
    field("Measure", select("measure", MEASURES)));
  const show = h("button", { type: "submit" }, "Show");
  form.append(show);
  const out = h("div", { "aria-live": "polite" });

  async function reload() {
    const wanted = values(form);
    const params = { group_by: wanted.group_by, since: since(wanted.range) };
    const [report, names] = await Promise.all([get("/usage", params), licenceNames(wanted.group_by)]);
    const key = wanted.group_by;
    const name = (r) => (key === "licence_id" && names[r[key]] ? `${names[r[key]]} (${r[key]})` : r[key] || "—");
    const rows = key === "day" ? report.data.slice().sort((a, b) => a.day.localeCompare(b.day))
      : report.data.slice().sort((a, b) => b[wanted.measure] - a[wanted.measure]);
    const label = GROUPS.find(([k]) => k === key)[1];
    const csv = `/admin/usage${query({ ...params, format: "csv" })}`;
    out.replaceChildren(
      bars(`${MEASURES.find(([k]) => k === wanted.measure)[1]} by ${label.toLowerCase()} since ${params.since}`, rows, { label: name, value: (r) => r[wanted.measure] }),
      table(`Usage by ${label.toLowerCase()} since ${params.since}`, [
        { label, value: name },
        { label: "Requests", value: (r) => fmt.num(r.requests), num: true },
        { label: "Images", value: (r) => fmt.num(r.images), num: true },
        { label: "Videos", value: (r) => fmt.num(r.videos), num: true },
        { label: "Succeeded", value: (r) => fmt.num(r.succeeded), num: true },
        { label: "Failed", value: (r) => fmt.num(r.failed), num: true },
        { label: "Credits", value: (r) => fmt.num(r.credits), num: true },
        { label: "Reserved", value: (r) => fmt.num(r.reserved), num: true },
      ], rows, "No generations in this range."),
      h("p", {}, h("a", { href: csv, download: "usage.csv" }, "Download as CSV")));
  }

  form.addEventListener("submit", busy(show, reload));
  body.replaceChildren(section("Report", form), section("Usage", out));
  await reload();
}
