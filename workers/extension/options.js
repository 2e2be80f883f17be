"use strict";
const FIELDS = ["gateway", "secret", "account", "project", "tier"];
chrome.storage.local.get(FIELDS).then((saved) => {
  for (const name of FIELDS) { document.getElementById(name).value = saved[name] || ""; }
});
document.getElementById("save").addEventListener("click", async () => {
  const values = {};
  for (const name of FIELDS) { values[name] = document.getElementById(name).value.trim(); }
  await chrome.storage.local.set(values);
  document.getElementById("status").textContent = "saved";
});
