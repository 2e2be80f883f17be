"""Nothing spent for nobody: a client that leaves gets no retry and no new dispatch; what was already
paid for is kept as a task; the same ``Idempotency-Key`` never generates twice; a failed download
is retried as a download, never as a new generation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.api.images import idempotent_task_id
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle

ClientWith = Callable[..., Awaitable[TestClient]]
BODY = {"model": "nano_banana", "prompt": "a fox", "response_format": "url"}


@pytest.fixture
def sim_config() -> SimulatorConfig:
    # Each generation takes a second upstream: long enough for a client to leave in the middle.
    return SimulatorConfig(
        image_scale=0.05, captcha_client_key=CAPTCHA_KEY, route_latency={"images.generate": 1.0}
    )


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    return await client_with()


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


async def leave_after(http: TestClient, headers: dict[str, str], seconds: float) -> None:
    """Send a request and close the connection before the answer (as a client timing out does)."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(seconds):
            await http.post("/v1/images/generations", json=BODY, headers=headers)


async def settled(http: TestClient) -> None:
    """Wait until the gateway holds no lease any more (its handler for the departed client ended)."""
    for _ in range(400):
        if all(sum(v.inflight.values()) == 0 for v in http.app[keys.POOL].table.snapshot()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a lease is still held")


async def test_the_same_idempotency_key_never_generates_twice(
    http: TestClient, auth: dict[str, str], simulator: SimHandle, licence_key: str
) -> None:
    headers = {**auth, "Idempotency-Key": "order-42"}
    first = await http.post("/v1/images/generations", json=BODY, headers=headers)
    again = await http.post("/v1/images/generations", json=BODY, headers=headers)
    assert first.status == again.status == 200
    assert first.headers["x-flow-task-id"] == again.headers["x-flow-task-id"]
    assert (await first.json())["data"] == (await again.json())["data"]
    assert simulator.sim.stats.calls("images.generate") == 1
    task = await http.get(f"/v1/images/{first.headers['x-flow-task-id']}", headers=auth)
    assert (await task.json())["status"] == "completed"
    other = await http.post("/v1/images/generations", json=BODY, headers={**auth, "Idempotency-Key": "43"})
    assert other.headers["x-flow-task-id"] != first.headers["x-flow-task-id"]


async def test_a_client_that_left_after_dispatch_finds_its_image_kept(
    http: TestClient, auth: dict[str, str], simulator: SimHandle, licence_key: str
) -> None:
    await leave_after(http, {**auth, "Idempotency-Key": "k1"}, 0.3)
    task_id = idempotent_task_id(http.app[keys.SETTINGS].licences[0].id, "k1")
    for _ in range(300):  # the handler keeps it once Flow answered, about a second later
        resp = await http.get(f"/v1/images/{task_id}", headers=auth)
        if resp.status == 200:
            break
        await asyncio.sleep(0.01)
    doc = await resp.json()
    assert doc["status"] == "completed" and doc["data"][0]["url"]
    assert simulator.sim.stats.calls("images.generate") == 1


async def test_nothing_is_retried_for_a_client_that_left(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="internal", count=5)
    await leave_after(http, auth, 0.3)
    await settled(http)
    assert simulator.sim.stats.calls("images.generate") == 1  # the failure is not retried elsewhere


async def test_a_failed_download_is_retried_as_a_download(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="cdn.image", kind="internal", count=1)
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "a fox"}, headers=auth
    )
    assert resp.status == 200 and (await resp.json())["data"][0]["b64_json"]
    assert simulator.sim.stats.calls("images.generate") == 1  # no second generation
    assert simulator.sim.stats.calls("cdn.image") == 2
