"""Scenario 3: upstream 500 and 503 are retried a bounded number of times across accounts, then the
client gets a 502 (or a 503 ``upstream_incident`` with Retry-After once most of the pool failed
together); never a retry storm: upstream calls per request <= ``[flow] max_attempts``."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse

from tests.conftest import SimHandle
from tests.reliability.support import (
    FAST_TASKS,
    IMAGE,
    THREE,
    ClientWith,
    create_video,
    final_video,
    openai_error,
)


@pytest.mark.parametrize("kind", ["internal", "unavailable"])
@pytest.mark.parametrize("attempts", [2, 3])
async def test_5xx_everywhere_is_a_502_after_bounded_retries(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str, attempts: int
) -> None:
    http = await client_with(env={"GATEWAY_FLOW_MAX_ATTEMPTS": str(attempts)}, accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind=kind, count=50)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    await assert_upstream_failure(resp)
    calls = simulator.sim.stats.recent("images.generate")
    assert 2 <= len(calls) <= attempts  # 1 + retries at most (an incident may stop them earlier)
    assert len({c.account for c in calls}) == len(calls)  # each retry on another account


async def assert_upstream_failure(resp: ClientResponse) -> None:
    """A 502 ``upstream_error``, or a 503 ``upstream_incident`` that says when to come back."""
    error = await openai_error(resp, resp.status)
    assert error["type"] == "server_error"
    assert (resp.status, error["code"]) in {(502, "upstream_error"), (503, "upstream_incident")}, error
    if resp.status == 503:
        assert int(resp.headers["Retry-After"]) >= 1


async def test_one_5xx_is_absorbed_by_a_retry(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind="unavailable", count=1)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    assert resp.status == 200, await resp.text()
    assert [c.status for c in simulator.sim.stats.recent("images.generate")] == [503, 200]


async def test_a_video_submit_failing_everywhere_fails_its_task_after_bounded_submits(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(env=FAST_TASKS, accounts=THREE)
    simulator.sim.faults.add(route="video.submit", kind="internal", count=50)
    video = await final_video(http, auth, await create_video(http, auth))
    assert video["status"] == "failed"
    assert video["error"]["code"] in ("upstream_error", "upstream_incident")
    assert simulator.sim.stats.calls("video.submit") <= 3  # [flow] max_attempts
