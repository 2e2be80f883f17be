// The console's shell: sign-in, navigation (#/page), and each page loaded when first opened.
import { currentSession, onSignedOut, signIn, signOut } from "./api.js";
import { busy, fail, field, h, say } from "./dom.js";

const PAGES = {
  overview: ["Overview", () => import("./pages/overview.js")],
  accounts: ["Accounts", () => import("./pages/accounts.js")],
  workers: ["Workers", () => import("./pages/workers.js")],
  licences: ["Licences", () => import("./pages/licences.js")],
  usage: ["Usage", () => import("./pages/usage.js")],
  tasks: ["Tasks", () => import("./pages/tasks.js")],
  playground: ["Playground", () => import("./pages/playground.js")],
  audit: ["Audit", () => import("./pages/audit.js")],
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");
let stopPage = null;
let signedIn = false;

function showSignIn(message) {
  signedIn = false;
  stopPage?.();
  stopPage = null;
  nav.hidden = true;
  signOutButton.hidden = true;
  document.title = "Sign in · Flow gateway console";
  const key = h("input", { name: "key", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const problem = h("p", { class: "problem", role: "alert" }, message || "");
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title", tabindex: "-1" }, "Sign in"),
    h("p", {}, "The admin key is exchanged for a session cookie; this browser does not keep the key."),
    field("Admin key", key, "python -m gateway admin key made it; make demo writes it to .demo/admin-key."),
    problem, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", busy(submit, async () => {
    problem.textContent = "";
    try {
      await signIn(key.value);
    } catch (error) {
      key.value = "";
      problem.textContent = error.status === 429 ? `${error.message}` : error.status === 401 ? "That is not the admin key." : error.message;
      key.focus();
      return;
    }
    key.value = "";
    await start();
  }));
  main.replaceChildren(form);
  key.focus();
}

async function route() {
  if (!signedIn) return;
  const name = (location.hash.match(/^#\/([a-z]+)/) || [])[1] || "overview";
  const entry = PAGES[name] || PAGES.overview;
  stopPage?.();
  stopPage = null;
  for (const link of nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === `#/${name}`) {
      link.setAttribute("aria-current", "page");
      link.scrollIntoView({ block: "nearest", inline: "nearest" }); // a phone's nav scrolls sideways
    } else link.removeAttribute("aria-current");
  }
  document.title = `${entry[0]} · Flow gateway console`;
  const heading = h("h1", { tabindex: "-1" }, entry[0]);
  const body = h("div", { class: "page", "data-page": name });
  main.replaceChildren(heading, body);
  heading.focus();
  try {
    const page = await entry[1]();
    stopPage = (await page.render(body)) || null;
  } catch (error) {
    fail(error);
  }
}

async function start() {
  signedIn = true;
  nav.hidden = false;
  signOutButton.hidden = false;
  await route();
}

onSignedOut(() => {
  if (signedIn) showSignIn("The session ended; sign in again.");
});

signOutButton.addEventListener("click", busy(signOutButton, async () => {
  await signOut();
  say("Signed out.");
  showSignIn();
}));

window.addEventListener("hashchange", route);
// The current page's own link reloads it (no hashchange would fire).
nav.addEventListener("click", (event) => {
  const link = event.target.closest("a");
  if (link && link.getAttribute("href") === location.hash) {
    event.preventDefault();
    route();
  }
});

try {
  if (await currentSession()) await start();
  else showSignIn();
} catch (error) {
  showSignIn(error.message);
}
