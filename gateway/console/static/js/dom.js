// Small DOM helpers: element building, tables, forms, dialogs, announcements, charts, polling.
// Text always goes in as text nodes (never parsed as HTML), so nothing the API returns can run as code.

export function h(tag, attrs = {}, ...children) {
  const node = tag === "svg" || SVG_TAGS.has(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.setAttribute("class", value);
    else if (name === "value" && "value" in node) node.value = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

const SVG_TAGS = new Set(["rect", "text", "title", "g", "line", "path"]);

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Screen-reader announcements: polite news ("Account disabled") and assertive errors.
export function say(message) {
  const region = document.getElementById("status");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = message; }, 30);
}

export function fail(error) {
  if (error && error.status === 401) return; // the session ended: the sign-in form says so
  const region = document.getElementById("alert");
  region.textContent = error && error.message ? error.message : String(error);
  region.hidden = false;
  window.clearTimeout(fail.timer);
  fail.timer = window.setTimeout(() => { region.hidden = true; }, 10000);
}

export const fmt = {
  time: (unix) => (unix ? new Date(unix * 1000).toLocaleString() : "—"),
  num: (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString()),
  pct: (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : "—"),
  ago(unix) {
    if (!unix) return "—";
    const s = Math.max(0, Date.now() / 1000 - unix);
    if (s < 90) return `${Math.round(s)} s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    return `${Math.round(s / 3600)} h ago`;
  },
};

export function badge(value, good = ["active", "ok", "completed", "delivered", "succeeded"]) {
  const tone = good.includes(value) ? "good" : ["failed", "down", "disabled", "needs_relogin", "revoked"].includes(value) ? "bad" : "warn";
  return h("span", { class: `badge ${tone}` }, value || "—");
}

// A table in a horizontally scrolling box (phones); columns are {label, value(row), num?}.
export function table(caption, columns, rows, empty = "Nothing yet.") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c, i) =>
        h(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: c.num ? "num" : null }, c.value(row))))))));
}

// A labelled form control; the label wraps it, so it is announced with it.
export function field(label, control, hint) {
  const id = control.id || `f-${++field.seq}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", { id: hintId }, hint) : null);
}
field.seq = 0;

export function input(name, attrs = {}) {
  return h("input", { name, type: "text", ...attrs });
}

export function select(name, options, attrs = {}) {
  return h("select", { name, ...attrs }, options.map((o) => {
    const [value, label] = Array.isArray(o) ? o : [o, o || "any"];
    return h("option", { value }, label);
  }));
}

// The form's named values, numbers as numbers (empty fields left out).
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.value.trim() !== "") out[el.name] = el.type === "number" ? Number(el.value) : el.value.trim();
  }
  return out;
}

// A modal dialog (native <dialog>: focus kept inside, Escape closes); resolves when closed.
export function dialog(title, body, { actions = [] } = {}) {
  const titleId = `d-${++field.seq}`;
  const close = h("button", { type: "button", class: "ghost", "aria-label": "Close" }, "×");
  const box = h("dialog", { "aria-labelledby": titleId },
    h("div", { class: "dialog-head" }, h("h2", { id: titleId }, title), close),
    body,
    actions.length ? h("div", { class: "actions" }, actions) : null);
  close.addEventListener("click", () => box.close());
  document.body.append(box);
  box.showModal();
  return new Promise((resolve) => box.addEventListener("close", () => { box.remove(); resolve(box.returnValue); }));
}

export function copyButton(text, label = "Copy") {
  const button = h("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      say("Copied to the clipboard.");
      button.textContent = "Copied";
    } catch {
      say("Copying is not allowed here: select the text and copy it.");
    }
  });
  return button;
}

// Horizontal bars, drawn as inline SVG; each bar has its value as text and a <title> for hover.
export function bars(caption, rows, { label, value, unit = "" }) {
  if (!rows.length) return h("p", { class: "empty" }, "No data in this range.");
  const top = Math.max(1, ...rows.map(value));
  const rowH = 26, labelW = 180, width = 640, barW = width - labelW - 70;
  const svg = h("svg", { viewBox: `0 0 ${width} ${rows.length * rowH + 4}`, role: "img", "aria-label": caption, class: "chart" },
    h("title", {}, caption),
    rows.map((row, i) => {
      const v = value(row), w = Math.max(1, (barW * v) / top), y = i * rowH + 2;
      return h("g", {},
        h("title", {}, `${label(row)}: ${fmt.num(v)}${unit}`),
        h("text", { x: labelW - 8, y: y + 17, "text-anchor": "end", class: "chart-label" }, truncate(label(row), 24)),
        h("rect", { x: labelW, y: y + 4, width: w, height: rowH - 8, rx: 3, class: "chart-bar" }),
        h("text", { x: labelW + w + 6, y: y + 17, class: "chart-value" }, `${fmt.num(v)}${unit}`));
    }));
  return h("figure", { class: "chart-box" }, svg, h("figcaption", {}, caption));
}

function truncate(text, n) {
  const s = String(text || "—");
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// Run `tick` now and every `ms` while the tab is visible; returns the stop function.
export function poll(tick, ms) {
  let timer = 0, stopped = false;
  const run = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try { await tick(); } catch (error) { fail(error); }
    }
    if (!stopped) timer = window.setTimeout(run, ms);
  };
  run();
  return () => { stopped = true; window.clearTimeout(timer); };
}

export function section(title, ...children) {
  const id = `s-${++field.seq}`;
  return h("section", { "aria-labelledby": id, class: "card" }, h("h2", { id }, title), children);
}

export function busy(button, work) {
  return async (event) => {
    event?.preventDefault?.();
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try { await work(); } catch (error) { fail(error); } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  };
}
