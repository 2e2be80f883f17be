// Calls to the gateway. The admin API is reached with the session cookie (sent by the browser,
// unreadable here) plus the session's CSRF token on every change; the token lives in this module's
// memory only and is asked for again at each page load. The admin key is sent once, to sign in,
// and is never kept. The public API (the playground) is called with a licence key passed in.

export const apiBase = document.querySelector('meta[name="api-base"]').content;

const session = { csrf: "", header: "x-csrf-token", signedOut: () => {} };

export class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
    this.param = error && error.param;
  }
}

export function onSignedOut(callback) {
  session.signedOut = callback;
}

export function query(params = {}) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? `?${new URLSearchParams(pairs)}` : "";
}

async function readError(response) {
  try {
    const body = await response.json();
    return new ApiError(response.status, body.error);
  } catch {
    return new ApiError(response.status, null);
  }
}

async function send(method, url, { body, headers = {}, credentials = "same-origin" } = {}) {
  const init = { method, credentials, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    if (body instanceof FormData || typeof body === "string") init.body = body;
    else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  const response = await fetch(url, init);
  if (!response.ok) throw await readError(response);
  return response;
}

async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

// The admin API: `path` below /admin; a 401 means the session ended (expired, signed out elsewhere).
export async function admin(method, path, body, headers = {}) {
  const extra = method === "GET" ? headers : { ...headers, [session.header]: session.csrf };
  try {
    return await parse(await send(method, `/admin${path}`, { body, headers: extra }));
  } catch (error) {
    if (error.status === 401) session.signedOut();
    throw error;
  }
}

export const get = (path, params) => admin("GET", path + query(params));
export const post = (path, body, headers) => admin("POST", path, body, headers);
export const patch = (path, body) => admin("PATCH", path, body);
export const del = (path) => admin("DELETE", path);

// Whether this browser is signed in (and then its CSRF token, kept in memory).
export async function currentSession() {
  const doc = await parse(await send("GET", "/console/session"));
  if (doc.signed_in) {
    session.csrf = doc.csrf_token;
    session.header = doc.csrf_header;
  }
  return doc.signed_in;
}

export async function signIn(key) {
  const doc = await parse(await send("POST", "/console/session", { body: { key } }));
  session.csrf = doc.csrf_token;
  session.header = doc.csrf_header;
  return doc;
}

export async function signOut() {
  await send("DELETE", "/console/session", { headers: { [session.header]: session.csrf } });
  session.csrf = "";
}

// The public API under apiBase with a licence key (never the session cookie).
export async function publicApi(method, path, key, body) {
  const headers = { Authorization: `Bearer ${key}` };
  return parse(await send(method, `${apiBase}${path}`, { body, headers, credentials: "omit" }));
}

export async function publicBlob(path, key) {
  const response = await send("GET", `${apiBase}${path}`, {
    headers: { Authorization: `Bearer ${key}`, Accept: "*/*" },
    credentials: "omit",
  });
  return response.blob();
}
