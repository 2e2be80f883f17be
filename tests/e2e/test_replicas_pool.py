"""Two gateways on one Redis and prefix (two replicas, in one process): a burst sent to both never
runs more generations on an account than its limit, counted by the simulator; a 429 met by one
replica cools the account down on the other as well."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.support.redis_server import RedisServer, unique_prefix

AppFactory = Callable[[Settings], web.Application]
EMAILS = ("ultra1@example.com", "ultra2@example.com", "pro1@example.com")
ACCOUNTS = "".join(
    f'[[accounts]]\nlabel = "{label}"\nsession_token = "{token}"\nimage_concurrency = 1\n\n'
    for label, token in (("ultra1", "st-ultra-1"), ("ultra2", "st-ultra-2"), ("pro1", "st-pro-1"))
)


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(
        image_scale=0.05, captcha_client_key=CAPTCHA_KEY, route_latency={"images.generate": 0.05}
    )


@pytest.fixture
async def replicas(
    settings_factory: Callable[..., Settings], app_factory: AppFactory, redis_server: RedisServer
) -> AsyncIterator[tuple[TestClient, TestClient]]:
    env = {
        "GATEWAY_STORE_URL": redis_server.url,
        "GATEWAY_STORE_PREFIX": unique_prefix(),
        "GATEWAY_POOL_WAIT_TIMEOUT": "20",
    }
    clients = [TestClient(TestServer(app_factory(settings_factory(env, ACCOUNTS)))) for _ in range(2)]
    for client in clients:
        await client.start_server()
    try:
        yield clients[0], clients[1]
    finally:
        for client in clients:
            await client.close()


async def test_a_burst_across_two_replicas_keeps_every_accounts_limit(
    replicas: tuple[TestClient, TestClient], licence_key: str, simulator: SimHandle
) -> None:
    auth = {"Authorization": f"Bearer {licence_key}"}
    body = {"model": "nano_banana", "prompt": "x"}
    responses = await asyncio.gather(
        *(r.post("/v1/images/generations", json=body, headers=auth) for _ in range(9) for r in replicas)
    )
    assert [r.status for r in responses] == [200] * 18
    stats = simulator.sim.stats
    peaks = [stats.max_inflight(email) for email in EMAILS]
    assert max(peaks) == 1, peaks  # one at a time per account, both replicas together
    for replica in replicas:
        assert all(v.inflight["image"] == 0 for v in replica.app[keys.POOL].table.snapshot())


async def test_a_cooldown_met_on_one_replica_holds_on_the_other(
    replicas: tuple[TestClient, TestClient], licence_key: str, simulator: SimHandle
) -> None:
    auth = {"Authorization": f"Bearer {licence_key}"}
    simulator.sim.faults.add(route="images.generate", kind="rate_limited", account="st-pro-1", retry_after=60)
    one, two = replicas
    body = {"model": "nano_banana", "prompt": "x"}
    for _ in range(3):  # the third lease at the latest lands on pro1 (least loaded, then oldest pick)
        assert (await one.post("/v1/images/generations", json=body, headers=auth)).status == 200

    def cooling(client: TestClient) -> bool:
        views = {v.label: v for v in client.app[keys.POOL].table.snapshot()}
        return views["pro1"].state == "cooling_down"

    assert cooling(one)
    async with asyncio.timeout(5):
        while not cooling(two):  # noqa: ASYNC110 - the other replica's state: no event to wait on here
            await asyncio.sleep(0.01)
    before = simulator.sim.stats.calls("images.generate", account="pro1@example.com")
    for _ in range(4):
        assert (await two.post("/v1/images/generations", json=body, headers=auth)).status == 200
    assert simulator.sim.stats.calls("images.generate", account="pro1@example.com") == before
