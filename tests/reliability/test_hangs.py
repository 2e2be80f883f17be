"""Scenario 4: an upstream that never answers. The client gets a 504 within the configured deadline,
the hung upstream connection is closed (the simulator sees its client leave), and nothing is left
running or open: no task, no socket."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient

from tests.conftest import SimHandle
from tests.reliability.support import (
    FAST_TASKS,
    IMAGE,
    THREE,
    ClientWith,
    Leaks,
    accounts_toml,
    create_video,
    eventually,
    final_video,
    openai_error,
)

ONE = accounts_toml(("a", "st-ultra-1"))


async def warmed(client_with: ClientWith, auth: dict[str, str], **kw: object) -> TestClient:
    """A gateway that has served once (tokens, projects and keep-alive connections exist)."""
    http = await client_with(**kw)
    assert (await http.post("/v1/images/generations", json=IMAGE, headers=auth)).status == 200
    return http


async def hung_call_released(simulator: SimHandle, route: str) -> None:
    """The simulator's hung handler saw its client leave (499): the gateway closed the connection."""
    await eventually(
        lambda: [r.status for r in simulator.sim.stats.recent(route)][-1:] == [499],
        what=f"the hung {route} call to be released",
    )


async def test_the_generation_deadline_ends_a_hang_with_a_504(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    env = {"GATEWAY_FLOW_GENERATION_TIMEOUT": "1.0"}  # shorter than the call's own timeout (10 s)
    http = await warmed(client_with, auth, env=env, accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind="hang", count=10)
    leaks = Leaks()
    started = time.monotonic()
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    elapsed = time.monotonic() - started
    error = await openai_error(resp, 504)
    assert (error["type"], error["code"]) == ("server_error", "upstream_timeout")
    assert 1.0 <= elapsed < 1.5
    assert simulator.sim.stats.calls("images.generate") == 2  # the warm-up, and the hung one
    await hung_call_released(simulator, "images.generate")
    await leaks.assert_none()


async def test_the_call_timeout_ends_a_hang_with_a_504(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await warmed(client_with, auth, env={"GATEWAY_FLOW_IMAGE_TIMEOUT": "0.5"}, accounts=ONE)
    simulator.sim.faults.add(route="images.generate", kind="hang", count=10)
    leaks = Leaks()
    started = time.monotonic()
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    elapsed = time.monotonic() - started
    error = await openai_error(resp, 504)
    assert error["code"] == "upstream_timeout"
    assert 0.5 <= elapsed < 1.0
    await hung_call_released(simulator, "images.generate")
    await leaks.assert_none()


async def test_a_hung_video_poll_is_survived(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    env = {**FAST_TASKS, "GATEWAY_FLOW_REQUEST_TIMEOUT": "0.5"}
    http = await warmed(client_with, auth, env=env, accounts=ONE)
    simulator.sim.faults.add(route="video.status", kind="hang", count=1)
    leaks = Leaks()
    video = await final_video(http, auth, await create_video(http, auth))
    assert video["status"] == "completed", video
    assert simulator.sim.stats.recent("video.status")[0].status == 499  # given up on
    assert simulator.sim.stats.calls("video.submit") == 1
    await leaks.assert_none()
