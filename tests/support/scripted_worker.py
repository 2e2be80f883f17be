"""A browser worker without a browser, for tests: speaks the worker protocol to the gateway and runs
each call the way the page-side function does in a real tab (read WIZ_global_data, mint through the
page's grecaptcha backend, substitute the placeholder, POST batchexecute with the page's cookies)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

UA = "Mozilla/5.0 ScriptedWorker Chrome/156"
SITE_KEY = "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV"


@dataclass
class WorkerAccount:
    key: str
    google_cookie: str
    project_id: str
    tier: str = ""
    groups: list[str] = field(default_factory=list)


class ScriptedWorker:
    def __init__(self, gateway_ws: str, flow_origin: str, accounts: list[WorkerAccount]) -> None:
        self.gateway_ws, self.flow, self.accounts = gateway_ws, flow_origin, {a.key: a for a in accounts}
        self.die_on_call = False
        # Replaces a reply body before it goes back to the gateway (rpcid, body) -> body.
        self.rewrite: Callable[[str, str], str] = lambda _rpcid, body: body
        self.calls: list[dict[str, Any]] = []
        self.ack: dict[str, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._answers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._connected.clear()
        self._task = asyncio.ensure_future(self._run())
        async with asyncio.timeout(5):
            await self._connected.wait()

    async def send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_json(message)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(self.gateway_ws) as ws:
            await ws.send_json(
                {
                    "type": "hello",
                    "protocol": 1,
                    "worker_id": "w-test",
                    "version": "test",
                    "kind": "scripted",
                    "capabilities": ["batchexecute"],
                    "max_inflight": {"generate": 1, "read": 4},
                    "accounts": [
                        {
                            "account_key": a.key,
                            "tier": a.tier,
                            "groups": a.groups,
                            "tab": {"host": "flow.google.com", "project_id": a.project_id},
                        }
                        for a in self.accounts.values()
                    ],
                }
            )
            self.ack = await ws.receive_json()
            self._ws = ws
            self._connected.set()
            async for frame in ws:
                message = json.loads(frame.data)
                if message.get("type") == "call":
                    self.calls.append(message)
                    if self.die_on_call:
                        return  # the socket closes mid-request, as a killed browser's would
                    task = asyncio.ensure_future(self._answer(http, ws, message))
                    self._answers.add(task)
                    task.add_done_callback(self._answers.discard)

    async def _answer(
        self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]
    ) -> None:
        account = self.accounts[message["account_key"]]
        headers = {"Cookie": f"__Secure-1PSID={account.google_cookie}", "User-Agent": UA}
        path = message.get("source_path") or f"/project/{account.project_id}"
        page = await (await http.get(f"{self.flow}{path}", headers=headers)).text()
        wiz = json.loads(re.search(r"window.WIZ_global_data = (\{.*?\});", page).group(1))  # type: ignore[union-attr]
        if message.get("op") == "probe":
            probe = {
                "flow_tab": True,
                "at_present": bool(wiz["SNlM0e"]),
                "signed_in": bool(wiz["S06Grb"]),
                "landing": path,
                "bl": wiz["cfb2h"],
                "grecaptcha_ready": "grecaptcha" in page,
            }
            await ws.send_json({"type": "result", "id": message["id"], "ok": True, "probe": probe})
            return
        freq = message["freq"]
        if message.get("captcha"):
            minted = await http.post(
                f"{self.flow}/recaptcha/enterprise/mint",
                headers=headers,
                json={"siteKey": SITE_KEY, "action": message["captcha"]["action"]},
            )
            freq = freq.replace(message["captcha"]["placeholder"], (await minted.json())["token"])
        query = {
            "rpcids": message["rpcid"],
            "source-path": message["source_path"],
            "bl": wiz["cfb2h"],
            "f.sid": wiz["FdrFJe"],
            "hl": "en",
            "_reqid": "100001",
            "rt": "c",
        }
        async with http.post(
            f"{self.flow}/_/AiSandboxAngularFrontend/data/batchexecute",
            params=query,
            data={"f.req": freq, "at": wiz["SNlM0e"]},
            headers={**headers, "x-same-domain": "1"},
        ) as resp:
            body = self.rewrite(message["rpcid"], await resp.text())
            await ws.send_json(
                {
                    "type": "result",
                    "id": message["id"],
                    "ok": True,
                    "http_status": resp.status,
                    "body": body,
                    "truncated": False,
                }
            )
