"""The pool under a burst: limits hold (counted by the simulator), a 429 account cools down and returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle

ClientWith = Callable[..., Awaitable[TestClient]]
EMAILS = ("ultra1@example.com", "ultra2@example.com", "pro1@example.com")


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(
        image_scale=0.05, captcha_client_key=CAPTCHA_KEY, route_latency={"images.generate": 0.05}
    )


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    accounts = "".join(
        f'[[accounts]]\nlabel = "{label}"\nsession_token = "{token}"\nimage_concurrency = 2\n\n'
        for label, token in (("ultra1", "st-ultra-1"), ("ultra2", "st-ultra-2"), ("pro1", "st-pro-1"))
    )
    return await client_with(accounts=accounts)


async def burst(http: TestClient, auth: dict[str, str], n: int) -> list[int]:
    body = {"model": "nano_banana", "prompt": "x"}
    responses = await asyncio.gather(
        *(http.post("/v1/images/generations", json=body, headers=auth) for _ in range(n))
    )
    return [r.status for r in responses]


async def test_twenty_parallel_requests_with_one_rate_limited_account(
    http: TestClient, licence_key: str, simulator: SimHandle
) -> None:
    auth = {"Authorization": f"Bearer {licence_key}"}
    stats = simulator.sim.stats
    simulator.sim.faults.add(
        route="images.generate", kind="rate_limited", count=1, account="st-pro-1", retry_after=2
    )
    assert await burst(http, auth, 20) == [200] * 20
    assert all(stats.max_inflight(email) <= 2 for email in EMAILS), [stats.max_inflight(e) for e in EMAILS]
    assert max(stats.max_inflight(e) for e in EMAILS) == 2  # the burst did fill the slots
    views = {v.label: v for v in http.app[keys.POOL].table.snapshot()}
    assert views["pro1"].state == "cooling_down"
    assert views["pro1"].cooldown_until > 0
    before = stats.calls("images.generate", account="pro1@example.com")
    # The cooldown runs from the 429, not from the start of the burst: wait until it has ended.
    await asyncio.sleep(max(0.0, views["pro1"].cooldown_until - time.time()) + 0.1)
    assert await burst(http, auth, 6) == [200] * 6
    assert (
        stats.calls("images.generate", account="pro1@example.com") > before
    )  # used again after its cooldown


async def test_groups_and_cooldown_errors(http: TestClient, licence_key: str, simulator: SimHandle) -> None:
    auth = {"Authorization": f"Bearer {licence_key}"}
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana|[gold]", "prompt": "x"}, headers=auth
    )
    assert resp.status == 403 and "gold" in (await resp.json())["error"]["message"]
    assert simulator.sim.stats.calls("images.generate") == 0
    simulator.sim.faults.add(route="images.generate", kind="rate_limited", count=3, retry_after=40)
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 429
    assert 30 <= int(resp.headers["retry-after"]) <= 40
