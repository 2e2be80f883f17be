"""Tokens solved ahead, end to end on the REST path: after a few generations the next ones take a
token that was ready (or being solved) instead of waiting for their own solve, and Flow (the
simulator, which checks every token is fresh, single use and for its action and user agent)
accepts every one of them."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.config import Settings
from tests.conftest import SimHandle

ClientFactory = Callable[..., object]


def served(text: str, source: str) -> int:
    found = re.search(
        rf'gateway_captcha_tokens_served_total\{{provider="anticaptcha",source="{source}"\}} (\d+)', text
    )
    return int(found.group(1)) if found else 0


async def test_generations_take_tokens_solved_ahead_and_flow_accepts_them(
    aiohttp_client: ClientFactory,
    settings: Settings,
    app_factory: Callable[[Settings], web.Application],
    licence_key: str,
    simulator: SimHandle,
) -> None:
    http: TestClient = await aiohttp_client(app_factory(settings))  # type: ignore[operator]
    auth = {"Authorization": f"Bearer {licence_key}"}
    for _ in range(8):
        resp = await http.post(
            "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
        )
        assert resp.status == 200, await resp.text()
    text = await (await http.get("/metrics")).text()
    ahead = served(text, "ready") + served(text, "waited")
    assert ahead >= 4 and served(text, "direct") + ahead == 8
    assert simulator.sim.stats.calls("images.generate") == 8  # no token refused, nothing sent twice
    assert "gateway_captcha_tokens_ready" in text
