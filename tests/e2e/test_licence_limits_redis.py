"""A licence's limits across two gateways on one Redis (two replicas): the rate window and a daily
cap hold across both, the rate-limit headers and ``/v1/licence`` read the shared counters on either,
and with Redis away an admission answers 503 before anything is spent upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import LicenceSettings, Settings
from gateway.licensing import hash_key
from tests.conftest import SimHandle
from tests.e2e.test_videos_http import FAST, finished
from tests.support.redis_server import RedisServer, start_server, unique_prefix

SPENDING = ("images.generate", "video.submit", "upload", "captcha.create")
Replicas = Callable[..., Any]


def spent(simulator: SimHandle) -> int:
    """Calls that spend something upstream (a generation, an upload, a captcha solve)."""
    return sum(simulator.sim.stats.calls(route) for route in SPENDING)


@pytest.fixture
async def replicas(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    licence_key: str,
) -> AsyncIterator[Replicas]:
    """Gateways on one Redis and prefix whose licence ``lic-a`` has the limits given."""
    async with AsyncExitStack() as stack:

        async def make(url: str, count: int = 2, **limits: Any) -> list[TestClient]:
            env = {
                **FAST,
                "GATEWAY_STORE_URL": url,
                "GATEWAY_STORE_PREFIX": prefix,
            }
            settings = msgspec.structs.replace(
                settings_factory(env),
                licences=(LicenceSettings(id="lic-a", key_sha256=hash_key(licence_key), **limits),),
            )
            clients = []
            for _ in range(count):
                client = TestClient(TestServer(app_factory(settings)))
                await client.start_server()
                stack.push_async_callback(client.close)
                clients.append(client)
            return clients

        prefix = unique_prefix()
        yield make


async def test_the_rate_window_and_its_headers_are_shared_by_replicas(
    replicas: Replicas, redis_server: RedisServer, simulator: SimHandle, licence_key: str
) -> None:
    one, two = await replicas(redis_server.url, rpm=3)
    auth = {"Authorization": f"Bearer {licence_key}"}
    body = {"model": "nano_banana", "prompt": "a fox"}
    remaining = []
    for client in (one, two, one):
        resp = await client.post("/v1/images/generations", json=body, headers=auth)
        assert resp.status == 200, await resp.text()
        remaining.append(resp.headers["x-ratelimit-remaining-requests"])
    assert remaining == ["2", "1", "0"]  # each replica counts the other's requests
    before = spent(simulator)
    resp = await two.post("/v1/images/generations", json=body, headers=auth)
    assert (resp.status, (await resp.json())["error"]["code"]) == (429, "rate_limit_exceeded")
    assert spent(simulator) == before  # refused before anything was sent
    doc = await (await two.get("/v1/licence", headers=auth)).json()
    assert doc["used"]["requests_this_minute"] == 3 and doc["used"]["images_today"] == 3
    assert doc["used"]["in_progress"] == 0  # each order settled where it ran


async def test_a_daily_cap_holds_across_replicas_under_a_burst(
    replicas: Replicas, redis_server: RedisServer, licence_key: str
) -> None:
    one, two = await replicas(redis_server.url, daily_videos=2)
    auth = {"Authorization": f"Bearer {licence_key}"}
    body = {"prompt": "a cat", "model": "veo_3_1-fast"}
    answers = await asyncio.gather(*(c.post("/v1/videos", json=body, headers=auth) for c in [one, two] * 4))
    accepted = [await r.json() for r in answers if r.status < 300]
    assert len(accepted) == 2
    assert {r.status for r in answers if r.status >= 300} == {429}
    for video in accepted:
        assert (await finished(one, auth, video["id"]))["status"] == "completed"
    for client in (one, two):
        used = (await (await client.get("/v1/licence", headers=auth)).json())["used"]
        assert (used["videos_today"], used["in_progress"]) == (2, 0)


async def test_with_redis_away_an_admission_answers_503_before_anything_is_spent(
    replicas: Replicas, tmp_path: Path, simulator: SimHandle, licence_key: str
) -> None:
    server = start_server(tmp_path / "redis", keep_data=True)  # its own: this test stops it
    (gateway,) = await replicas(server.url, count=1, daily_images=10)
    try:
        auth = {"Authorization": f"Bearer {licence_key}"}
        body = {"model": "nano_banana", "prompt": "a fox"}
        server.stop()
        before = spent(simulator)
        resp = await gateway.post("/v1/images/generations", json=body, headers=auth)
        assert (resp.status, (await resp.json())["error"]["code"]) == (503, "store_unavailable")
        assert spent(simulator) == before
        server.start()
        resp = await gateway.post("/v1/images/generations", json=body, headers=auth)
        assert resp.status == 200, await resp.text()
        used = (await (await gateway.get("/v1/licence", headers=auth)).json())["used"]
        assert (used["images_today"], used["in_progress"]) == (1, 0)
    finally:
        await gateway.close()  # while Redis is there to take its last writes
        server.stop()
