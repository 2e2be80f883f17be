"""Accounts served by browser workers: images over batchexecute, a worker dying mid-request, coming back."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import openai
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from gateway import keys
from tests.conftest import SimHandle
from tests.support.scripted_worker import ScriptedWorker, WorkerAccount

SECRET = "worker-secret-for-tests"
ClientWith = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def gateway(client_with: ClientWith) -> TestClient:
    return await client_with(
        {"GATEWAY_WORKERS_SECRET": SECRET, "GATEWAY_WORKERS_DEFAULT_TIER": "ultra"}, accounts=""
    )


@pytest.fixture
async def worker(gateway: TestClient, simulator: SimHandle) -> AsyncIterator[ScriptedWorker]:
    url = str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1) + f"?key={SECRET}"
    account = WorkerAccount("acct-u", "st-ultra-1", simulator.sim.project_of("st-ultra-1"))
    scripted = ScriptedWorker(url, simulator.url, [account])
    await scripted.start()
    yield scripted
    await scripted.stop()


@pytest.fixture
async def sdk(gateway: TestClient, licence_key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=str(gateway.make_url("/flow/v1")), api_key=licence_key, max_retries=0
    ) as client:
        yield client


async def test_images_are_served_over_batchexecute(
    worker: ScriptedWorker, sdk: openai.AsyncOpenAI, simulator: SimHandle
) -> None:
    assert worker.ack == {"type": "hello_ack", "accepted": ["acct-u"], "rejected": []}
    result = await sdk.images.generate(model="nano_banana_pro-4K-landscape", prompt="a fox")
    assert result.data is not None and result.data[0].b64_json
    stats = simulator.sim.stats
    assert stats.calls("batch.ogiZ0b", account="ultra1@example.com", with_token=True) == 1
    assert stats.calls("batch.SPrCad", with_token=True) == 1
    assert stats.calls("images.generate") == 0  # nothing over the legacy REST host
    generates = [c for c in worker.calls if c["captcha"]]
    assert [c["rpcid"] for c in generates] == ["ogiZ0b", "SPrCad"]
    assert all(c["captcha"]["action"] == "IMAGE_GENERATION" for c in generates)
    # The account's credits and catalogue are read once, though the worker's connect and the first
    # request both asked for them.
    reads = sorted(c["rpcid"] for c in worker.calls if not c["captcha"])
    assert reads == ["HTrJv", "nzlxg"]


async def test_edit_uploads_with_maseq(
    worker: ScriptedWorker, sdk: openai.AsyncOpenAI, simulator: SimHandle
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buf, format="PNG")  # a real one: fakes are refused
    png = buf.getvalue()
    result = await sdk.images.edit(model="nano_banana", prompt="blue", image=("a.png", png, "image/png"))
    assert result.data is not None
    assert simulator.sim.stats.calls("batch.maseQ", with_token=True) == 1


async def test_worker_killed_mid_request_is_503_then_comes_back(
    worker: ScriptedWorker, sdk: openai.AsyncOpenAI, gateway: TestClient
) -> None:
    worker.die_on_call = True
    with pytest.raises(openai.InternalServerError) as info:
        await sdk.images.generate(model="nano_banana", prompt="x")
    assert info.value.status_code == 503
    assert info.value.code == "worker_unavailable"
    ready = await gateway.get("/readyz")
    assert (ready.status, (await ready.json())["accounts_serving"]) == (503, 0)
    with pytest.raises(openai.InternalServerError) as again:
        await sdk.images.generate(model="nano_banana", prompt="x")
    assert again.value.status_code == 503  # the account waits for its worker: unavailable, not an error
    worker.die_on_call = False
    await worker.start()
    result = await sdk.images.generate(model="nano_banana", prompt="x")
    assert result.data is not None


async def test_worker_socket_needs_the_secret(gateway: TestClient) -> None:
    url = str(gateway.make_url("/v1/flow-worker")).replace("http", "ws", 1)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect(url + "?key=wrong")
    assert info.value.status == 401


async def test_hello_must_come_first_and_name_a_project(gateway: TestClient) -> None:
    url = str(gateway.make_url("/v1/flow-worker")).replace("http", "ws", 1) + f"?key={SECRET}"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            await ws.send_json({"type": "ping"})
            assert (await ws.receive_json())["type"] == "error"
        async with http.ws_connect(url) as ws:
            await ws.send_json({"type": "hello", "protocol": 1, "accounts": [{"account_key": "x"}]})
            assert (await ws.receive_json()) == {"type": "hello_ack", "accepted": [], "rejected": ["x"]}
            await ws.send_json({"type": "ping"})
            assert (await ws.receive_json()) == {"type": "pong"}


async def test_probe_reports_presence_only(worker: ScriptedWorker, gateway: TestClient) -> None:
    probe = await gateway.app[keys.WORKERS].probe("acct-u")
    assert probe["at_present"] is True and probe["signed_in"] is True and probe["grecaptcha_ready"] is True
    assert all(not isinstance(v, str) or len(v) < 80 for v in probe.values())  # no token values


async def test_one_generate_at_a_time_per_worker(
    worker: ScriptedWorker, sdk: openai.AsyncOpenAI, simulator: SimHandle
) -> None:
    results = await asyncio.gather(
        *(sdk.images.generate(model="nano_banana", prompt=f"p{i}") for i in range(3))
    )
    assert all(r.data for r in results)
    assert simulator.sim.stats.max_inflight("ultra1@example.com") == 1  # the worker announced generate: 1


async def test_account_state_events_pause_and_resume_the_account(
    worker: ScriptedWorker, gateway: TestClient, sdk: openai.AsyncOpenAI
) -> None:
    await worker.send({"type": "account_state", "account_key": "acct-u", "state": "signed_out"})
    await asyncio.sleep(0.05)
    views = {v.label: v for v in gateway.app[keys.POOL].table.snapshot()}
    assert (views["acct-u"].state, views["acct-u"].reason) == ("needs_worker", "signed_out")
    await worker.send({"type": "account_state", "account_key": "acct-u", "state": "ready"})
    await asyncio.sleep(0.05)
    assert (await sdk.images.generate(model="nano_banana", prompt="x")).data
