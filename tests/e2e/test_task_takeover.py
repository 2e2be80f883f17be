"""Two gateways on one Redis, one simulator: a video submitted through the first is taken over by the
second after the first dies (its claims left to expire, nothing released), polled there to the end
with the real video runner, and Flow saw exactly one submit; cancel and delete through the replica
that does not run a task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.e2e.test_videos_http import FAST, finished
from tests.support.redis_server import RedisServer, unique_prefix

AppFactory = Callable[[Settings], web.Application]


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=1.5)


async def started(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def die(gateway: TestClient) -> None:
    """The gateway process dies: it renews nothing, releases nothing, its runners just stop."""
    engine = gateway.app[keys.TASKS]
    await engine.ownership.stop(release=False)
    engine._closing = True  # a dead process gives nothing up
    for runner in list(engine._running.values()):
        runner.cancel()
    await gateway.close()


async def test_a_dead_replicas_video_completes_on_another_with_one_submit(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    redis_server: RedisServer,
    licence_key: str,
    simulator: SimHandle,
) -> None:
    env = {
        **FAST,
        "GATEWAY_STORE_URL": redis_server.url,
        "GATEWAY_STORE_PREFIX": unique_prefix(),
        "GATEWAY_TASKS_CLAIM_TTL": "0.6",
    }
    auth = {"Authorization": f"Bearer {licence_key}"}
    first = await started(app_factory(settings_factory(env)))
    second = await started(app_factory(settings_factory(env)))
    try:
        resp = await first.post(
            "/flow/v1/videos", json={"prompt": "a fox", "model": "veo_3_1-fast"}, headers=auth
        )
        video_id = (await resp.json())["id"]
        deadline = time.monotonic() + 10
        while (await (await second.get(f"/flow/v1/videos/{video_id}", headers=auth)).json())[
            "status"
        ] != "in_progress":
            assert time.monotonic() < deadline, "never submitted"
            await asyncio.sleep(0.02)
        await die(first)
        done = await finished(second, auth, video_id)
        assert done["status"] == "completed", done
        content = await second.get(f"/flow/v1/videos/{video_id}/content", headers=auth)
        assert (await content.read())[4:8] == b"ftyp"
        assert second.app[keys.TASKS].ownership.taken_over == 1
        assert simulator.sim.stats.calls("video.submit") == 1  # polled to the end, never sent again
    finally:
        await first.close()
        await second.close()
