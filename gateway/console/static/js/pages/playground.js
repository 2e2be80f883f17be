// Playground: generate through the public API with a licence key pasted here. The key stays in
// this page's memory (gone when you leave the page; never stored), and is sent only to the API.
import { apiBase, publicApi, publicBlob } from "../api.js";
import { busy, field, h, say, section } from "../dom.js";

const POLL_MS = 1000;
const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

function modelOptions(models) {
  const groups = {};
  for (const m of models) (groups[m.variant_of || m.id] ||= []).push(m);
  return Object.entries(groups).map(([base, list]) => h("optgroup", { label: base },
    list.map((m) => h("option", { value: m.id, "data-kind": m.kind, disabled: m.available === false },
      `${m.id} · ${m.kind}${m.credits ? ` · ${m.credits} credits` : ""}${m.available === false ? " (unavailable)" : ""}`))));
}

async function submit({ key, model, kind, prompt, image }) {
  if (kind === "video") {
    if (!image) return publicApi("POST", "/videos", key, { model, prompt });
    const form = new FormData();
    form.append("model", model);
    form.append("prompt", prompt);
    form.append("input_reference", image);
    return publicApi("POST", "/videos", key, form);
  }
  if (!image) return publicApi("POST", "/images/generations?async=true", key, { model, prompt, response_format: "url" });
  const form = new FormData();
  form.append("model", model);
  form.append("prompt", prompt);
  form.append("response_format", "url");
  form.append("image[]", image);
  return publicApi("POST", "/images/edits?async=true", key, form);
}

async function watch(task, key, kind, show) {
  const path = kind === "video" ? `/videos/${task.id}` : `/images/${task.id}`;
  let current = task;
  while (current.status !== "completed" && current.status !== "failed") {
    show(current);
    await sleep(POLL_MS);
    current = await publicApi("GET", path, key);
  }
  show(current);
  return current;
}

// A result's URL on this page's origin: the API names [server] public_url's origin, which the
// page's policy does not load from (and which may be another listener altogether).
const local = (url) => {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
};

async function result(task, key, kind) {
  if (kind === "video") {
    const url = URL.createObjectURL(await publicBlob(`/videos/${task.id}/content`, key));
    return h("div", { class: "preview" },
      h("video", { controls: true, src: url, "aria-label": `The generated video: ${task.prompt}` }),
      h("p", {}, h("a", { href: url, download: `${task.id}.mp4` }, "Download the video")));
  }
  return h("div", { class: "preview" }, task.data.map((item, i) => h("figure", {},
    h("img", { src: local(item.url), alt: `Generated image ${i + 1}: ${task.prompt}` }),
    h("figcaption", {}, h("a", { href: local(item.url), download: `${task.id}-${i + 1}.jpg` }, `Download image ${i + 1}`)))));
}

export async function render(body) {
  const keyInput = h("input", { type: "password", name: "licence_key", autocomplete: "off", spellcheck: "false", required: true });
  const load = h("button", { type: "submit" }, "Load the models");
  const keyForm = h("form", { class: "inline" }, field("Licence key", keyInput, "Kept in this page's memory only; sent as the API's bearer key."), load);
  const model = h("select", { name: "model", required: true, disabled: true });
  const prompt = h("textarea", { name: "prompt", required: true, placeholder: "a red fox in snow" });
  const image = h("input", { type: "file", name: "image", accept: "image/png,image/jpeg,image/webp" });
  const go = h("button", { type: "submit", disabled: true }, "Generate");
  const genForm = h("form", {}, field("Model and variant", model), field("Prompt", prompt),
    field("Image (optional)", image, "An image to edit, or a video's first frame / reference"), go);
  const bar = h("progress", { max: "100", value: "0", "aria-label": "Progress" });
  const state = h("p", { "aria-live": "polite" }, "Paste a licence key, then load the models.");
  const out = h("div", {});
  let key = "";

  keyForm.addEventListener("submit", busy(load, async () => {
    key = keyInput.value.trim();
    const models = (await publicApi("GET", "/models", key)).data;
    model.replaceChildren(...modelOptions(models));
    model.disabled = false;
    go.disabled = false;
    state.textContent = `${models.length} models and variants from ${apiBase}/models.`;
  }));

  genForm.addEventListener("submit", busy(go, async () => {
    const kind = model.selectedOptions[0]?.dataset.kind || "image";
    out.replaceChildren();
    bar.value = 0;
    const task = await submit({ key, model: model.value, kind, prompt: prompt.value, image: image.files[0] });
    say(`Task ${task.id} queued.`);
    const done = await watch(task, key, kind, (t) => {
      bar.value = t.progress || 0;
      state.textContent = `${t.id}: ${t.status} (${t.progress || 0} %)`;
    });
    if (done.status === "failed") {
      state.textContent = `${done.id} failed: ${done.error?.message || done.error?.code || "unknown error"}`;
      return;
    }
    out.replaceChildren(await result(done, key, kind));
    say(`Task ${done.id} completed.`);
  }));

  body.replaceChildren(section("Licence", keyForm), section("Generate", genForm, bar, state), section("Result", out));
  return () => { key = ""; keyInput.value = ""; };
}
