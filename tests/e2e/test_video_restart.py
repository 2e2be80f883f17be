"""A restart with videos in flight: submitted videos resume polling on their account and finish, none
is submitted twice, and one caught mid-submit is failed rather than sent again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.domain import Kind, TaskRecord, TaskStage, TaskStatus
from gateway.simulator import SimulatorConfig
from gateway.store.sqlite import open_sqlite_store
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.e2e.test_videos_http import FAST, finished


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=1.5)


async def started(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_tasks_resume_after_a_restart(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    tmp_path: Path,
    licence_key: str,
    simulator: SimHandle,
) -> None:
    db = tmp_path / "state.sqlite3"
    env = {**FAST, "GATEWAY_STORE_BACKEND": "sqlite", "GATEWAY_STORE_PATH": str(db)}
    auth = {"Authorization": f"Bearer {licence_key}"}
    first = await started(app_factory(settings_factory(env)))
    ids = []
    for prompt in ("one", "two"):
        resp = await first.post("/v1/videos", json={"prompt": prompt, "model": "veo_3_1-fast"}, headers=auth)
        ids.append((await resp.json())["id"])
    for _ in range(100):  # wait until both are submitted (in progress upstream)
        states = [(await (await first.get(f"/v1/videos/{i}", headers=auth)).json())["status"] for i in ids]
        if states == ["in_progress", "in_progress"]:
            break
        await asyncio.sleep(0.02)
    assert states == ["in_progress", "in_progress"]
    await first.close()

    async with open_sqlite_store(db) as store:  # a task the restart caught in the submit window
        now = time.time()
        await store.put_task(
            TaskRecord(
                "video_caughtmidsubmit",
                "lic-a",
                Kind.VIDEO,
                "veo_3_1",
                "three",
                TaskStatus.QUEUED,
                TaskStage.SUBMITTING,
                now,
                now,
                order={"model": "veo_3_1", "mode": "text", "seconds": 8},
            )
        )

    second = await started(app_factory(settings_factory(env)))
    try:
        for video_id in ids:
            done = await finished(second, auth, video_id)
            assert done["status"] == "completed", done
            content = await second.get(f"/v1/videos/{video_id}/content", headers=auth)
            assert (await content.read())[4:8] == b"ftyp"
        interrupted = await finished(second, auth, "video_caughtmidsubmit")
        assert (interrupted["status"], interrupted["error"]["code"]) == ("failed", "interrupted")
        assert simulator.sim.stats.calls("video.submit") == 2  # nothing was submitted twice
    finally:
        await second.close()
