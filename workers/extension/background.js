// Service worker of the reference extension: keeps a WebSocket to the gateway's worker socket,
// announces the configured account, and runs each call in that account's flow.google.com project
// tab through page/flow_call.js (MAIN world). Settings come from the options page (chrome.storage).
// Chrome 116+ keeps a service worker alive while its WebSocket has traffic: we ping every 20 s.
"use strict";

let socket = null;
let retryMs = 1000;

async function settings() {
  return await chrome.storage.local.get(["gateway", "secret", "account", "project", "tier"]);
}

async function projectTab(cfg) {
  const url = `https://flow.google.com/project/${cfg.project}`;
  const tabs = await chrome.tabs.query({ url: "https://flow.google.com/project/*" });
  let tab = tabs.find((t) => t.url && t.url.startsWith(url));
  if (!tab) {
    tab = await chrome.tabs.create({ url, active: false });
  } else if (tab.discarded) {
    await chrome.tabs.reload(tab.id);
  }
  for (let i = 0; i < 100 && (await chrome.tabs.get(tab.id)).status !== "complete"; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return tab;
}

async function runCall(cfg, message) {
  let tab;
  try {
    tab = await projectTab(cfg);
  } catch (err) {
    return { ok: false, error: { code: "NO_FLOW_TAB", message: String(err), retryable: true } };
  }
  const target = { tabId: tab.id };
  await chrome.scripting.executeScript({ target, world: "MAIN", files: ["page/flow_call.js"] });
  if (message.op === "probe") {
    const [probed] = await chrome.scripting.executeScript({ target, world: "MAIN", func: () => window.__flowGatewayProbe() });
    return { ok: true, probe: probed.result };
  }
  const [injection] = await chrome.scripting.executeScript({
    target, world: "MAIN", func: (call) => window.__flowGatewayCall(call), args: [message],
  });
  return injection.result;
}

async function connect() {
  const cfg = await settings();
  if (!cfg.gateway || !cfg.secret || !cfg.account || !cfg.project) { return; }
  const ws = new WebSocket(`${cfg.gateway}?key=${encodeURIComponent(cfg.secret)}`);
  socket = ws;
  ws.onopen = () => {
    retryMs = 1000;
    ws.send(JSON.stringify({
      type: "hello", protocol: 1, worker_id: `ext-${cfg.account}`, version: "0.1.0", kind: "extension",
      capabilities: ["batchexecute"], max_inflight: { generate: 1, read: 4 },
      accounts: [{ account_key: cfg.account, tier: cfg.tier || "", tab: { host: "flow.google.com", project_id: cfg.project } }],
    }));
  };
  ws.onmessage = async (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "call") {
      let result;
      try { result = await runCall(cfg, message); }
      catch (err) { result = { ok: false, error: { code: "FETCH_FAILED", message: String(err), retryable: false } }; }
      if (ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify({ type: "result", id: message.id, ...result })); }
    } else if (message.type === "ping") {
      ws.send(JSON.stringify({ type: "pong" }));
    }
  };
  ws.onclose = () => {
    if (socket === ws) { socket = null; }
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  };
}

setInterval(() => { if (socket && socket.readyState === WebSocket.OPEN) { socket.send('{"type":"ping"}'); } }, 20000);
chrome.runtime.onStartup.addListener(connect);
chrome.runtime.onInstalled.addListener(connect);
chrome.storage.onChanged.addListener(() => { if (socket) { socket.close(); } else { connect(); } });
connect();
