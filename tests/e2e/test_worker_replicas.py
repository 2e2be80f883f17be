"""Two gateways on one Redis (two replicas behind a load balancer): the scripted browser worker is
connected to A, and a client of B gets its image, generated through A's worker; when the worker
goes, B's account needs a worker; when it comes back (to B this time), A serves through B."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from gateway.pool.account import worker_account_id
from gateway.pool.policy import AccountState
from tests.conftest import SimHandle
from tests.reliability.support import eventually
from tests.support.redis_server import RedisServer, unique_prefix
from tests.support.scripted_worker import ScriptedWorker, WorkerAccount

SECRET = "worker-secret-for-tests"
KEY = "acct-u"


@pytest.fixture
async def replicas(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    redis_server: RedisServer,
) -> AsyncIterator[tuple[TestClient, TestClient]]:
    env = {
        "GATEWAY_STORE_URL": redis_server.url,
        "GATEWAY_STORE_PREFIX": unique_prefix(),
        "GATEWAY_WORKERS_SECRET": SECRET,
        "GATEWAY_WORKERS_DEFAULT_TIER": "ultra",
    }
    a = TestClient(TestServer(app_factory(settings_factory(env, accounts=""))))
    b = TestClient(TestServer(app_factory(settings_factory(env, accounts=""))))
    await a.start_server()
    try:
        await b.start_server()
        try:
            yield a, b
        finally:
            await b.close()
    finally:
        await a.close()


def worker_for(gateway: TestClient, simulator: SimHandle) -> ScriptedWorker:
    url = str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1) + f"?key={SECRET}"
    account = WorkerAccount(KEY, "st-ultra-1", simulator.sim.project_of("st-ultra-1"))
    return ScriptedWorker(url, simulator.url, [account])


def state_on(gateway: TestClient) -> AccountState | None:
    account = gateway.app[keys.POOL].table.get(worker_account_id(KEY))
    return account.health.state if account is not None else None


async def generate(gateway: TestClient, licence_key: str) -> int:
    body = {"model": "nano_banana", "prompt": "a fox", "response_format": "b64_json"}
    resp = await gateway.post(
        "/v1/images/generations", json=body, headers={"Authorization": f"Bearer {licence_key}"}
    )
    return resp.status


async def test_an_image_asked_of_b_is_made_by_the_worker_on_a(
    replicas: tuple[TestClient, TestClient], simulator: SimHandle, licence_key: str
) -> None:
    a, b = replicas
    worker = worker_for(a, simulator)
    await worker.start()
    try:
        await eventually(lambda: state_on(b) is AccountState.ACTIVE, within=10.0, what="ready on B")
        assert await generate(b, licence_key) == 200
        generates = [c for c in worker.calls if c["captcha"]]
        assert [c["rpcid"] for c in generates] == ["ogiZ0b"]  # sent once
        assert simulator.sim.stats.calls("batch.ogiZ0b", account="ultra1@example.com", with_token=True) == 1
        workers = b.app[keys.WORKERS].connected()  # as /admin/workers lists them
        assert [w["accounts"] for w in workers] == [[KEY]] and workers[0]["replica"]
    finally:
        await worker.stop()
    await eventually(lambda: state_on(b) is AccountState.NEEDS_WORKER, what="NEEDS_WORKER on B")
    assert state_on(a) is AccountState.NEEDS_WORKER

    worker = worker_for(b, simulator)  # back, through the other replica this time
    await worker.start()
    try:
        await eventually(lambda: state_on(a) is AccountState.ACTIVE, within=10.0, what="ready on A")
        assert await generate(a, licence_key) == 200
    finally:
        await worker.stop()
