"""Scenario 9: the gateway restarts (same SQLite store) with video jobs in flight. The new gateway
answers ``GET /v1/videos/{id}`` at once, resumes polling the submitted jobs on their accounts, and
finishes them; nothing is submitted twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.reliability.support import FAST_TASKS, THREE, Served, eventually


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """Videos that take 1.5 s: still running when the gateway restarts."""
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=1.5)


def sqlite(tmp_path: Path) -> dict[str, str]:
    return {**FAST_TASKS, "GATEWAY_STORE_BACKEND": "sqlite", "GATEWAY_STORE_PATH": str(tmp_path / "state.db")}


async def statuses(gateway: Served, auth: dict[str, str], ids: list[str]) -> list[str]:
    """Each video's status, each answered 200."""
    out = []
    for video_id in ids:
        resp = await gateway.http.get(f"/v1/videos/{video_id}", headers=auth)
        assert resp.status == 200, await resp.text()
        out.append((await resp.json())["status"])
    return out


async def test_videos_in_flight_survive_a_restart(
    served: Any, simulator: SimHandle, auth: dict[str, str], tmp_path: Path
) -> None:
    first: Served = await served(env=sqlite(tmp_path), accounts=THREE)
    ids = []
    for prompt in ("one", "two", "three"):
        resp = await first.http.post(
            "/v1/videos", json={"model": "veo_3_1-fast", "prompt": prompt}, headers=auth
        )
        ids.append((await resp.json())["id"])

    async def submitted() -> bool:
        return await statuses(first, auth, ids) == ["in_progress"] * 3

    await eventually(submitted, what="the three videos to be submitted")
    await first.close()  # as on SIGTERM, with the jobs still running upstream

    second: Served = await served(env=sqlite(tmp_path), accounts=THREE)
    assert set(await statuses(second, auth, ids)) <= {"in_progress", "completed"}  # at once, from the store

    async def completed() -> bool:
        return await statuses(second, auth, ids) == ["completed"] * 3

    await eventually(completed, within=10, what="the resumed videos to complete")
    for video_id in ids:
        content = await second.http.get(f"/v1/videos/{video_id}/content", headers=auth)
        assert (await content.read())[4:8] == b"ftyp"
    listed = await (await second.http.get("/v1/videos", headers=auth)).json()
    assert {v["id"] for v in listed["data"]} == set(ids)
    assert simulator.sim.stats.calls("video.submit") == 3  # resumed, never submitted again
