"""One signed-in flow.google.com tab, emulated against the simulator (as a browser worker drives it):
load the project page, read WIZ_global_data, mint a token through the page's grecaptcha, substitute
it into an f.req, POST batchexecute."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.simulator import Simulator
from gateway.upstream.flow.batch import CAPTCHA_PLACEHOLDER, ENDPOINT_PATH, encode_freq

UA = "Mozilla/5.0 TestChrome"
SITE_KEY = "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV"


class Page:
    """One signed-in flow.google.com tab."""

    def __init__(self, client: TestClient, sim: Simulator, session_token: str = "st-u") -> None:
        self.client, self.st = client, session_token
        self.project = sim.project_of(session_token)
        self.wiz: dict[str, str] = {}

    @property
    def cookies(self) -> dict[str, str]:
        return {"Cookie": f"__Secure-1PSID={self.st}", "User-Agent": UA}

    async def load(self) -> None:
        html = await (await self.client.get(f"/project/{self.project}", headers=self.cookies)).text()
        match = re.search(r"window.WIZ_global_data = (\{.*?\});", html)
        assert match
        self.wiz = json.loads(match.group(1))

    async def mint(self, action: str = "IMAGE_GENERATION") -> str:
        resp = await self.client.post(
            "/recaptcha/enterprise/mint",
            headers=self.cookies,
            json={"siteKey": SITE_KEY, "action": action},
        )
        return str((await resp.json())["token"])

    async def call(
        self,
        rpcid: str,
        inner: object,
        *,
        token: str | None = None,
        at: str | None = None,
        headers: dict[str, str] | None = None,
        source_path: str | None = None,
    ) -> Any:
        freq = encode_freq(rpcid, inner)
        if token is not None:
            freq = freq.replace(CAPTCHA_PLACEHOLDER, token)
        query = {
            "rpcids": rpcid,
            "source-path": source_path or f"/project/{self.project}",
            "bl": self.wiz["cfb2h"],
            "f.sid": self.wiz["FdrFJe"],
            "hl": "en",
            "_reqid": "123456",
            "rt": "c",
        }
        return await self.client.post(
            ENDPOINT_PATH,
            params=query,
            data={"f.req": freq, "at": at or self.wiz["SNlM0e"]},
            headers={**self.cookies, "x-same-domain": "1", **(headers or {})},
        )
