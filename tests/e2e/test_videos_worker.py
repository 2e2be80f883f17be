"""Videos over flow.google.com: a browser worker runs the submit, batched jwpduf polls and as29s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.e2e.test_videos_http import FAST, b64_image, create, finished
from tests.support.scripted_worker import ScriptedWorker, WorkerAccount

SECRET = "worker-secret-for-tests"
ClientWith = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
async def gateway(client_with: ClientWith) -> TestClient:
    env = {**FAST, "GATEWAY_WORKERS_SECRET": SECRET, "GATEWAY_WORKERS_DEFAULT_TIER": "ultra"}
    return await client_with(env, accounts="")


@pytest.fixture
async def worker(gateway: TestClient, simulator: SimHandle) -> AsyncIterator[ScriptedWorker]:
    url = str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1) + f"?key={SECRET}"
    account = WorkerAccount(
        "acct-u", "st-ultra-1", simulator.sim.project_of("st-ultra-1"), groups=["browser"]
    )
    scripted = ScriptedWorker(url, simulator.url, [account])
    await scripted.start()
    yield scripted
    await scripted.stop()


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


async def test_every_mode_over_batchexecute(
    worker: ScriptedWorker, gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    bodies = [
        {"prompt": "text", "model": "veo_3_1-fast|[browser]"},
        {
            "prompt": "frames",
            "model": "veo_3_1-fl-landscape",
            "input_reference": [b64_image(), b64_image((1, 1, 1))],
        },
        {"prompt": "first", "model": "veo_3_1-fl-4s", "input_reference": b64_image()},
        {"prompt": "refs", "model": "veo_3_1-fast", "input_reference": [b64_image()]},
        {"prompt": "relaxed", "model": "veo_3_1-relaxed"},
    ]
    videos = [await create(gateway, auth, body) for body in bodies]
    for video in videos:
        done = await finished(gateway, auth, video["id"])
        assert done["status"] == "completed", done
    content = await gateway.get(f"/v1/videos/{videos[0]['id']}/content", headers=auth)
    assert (await content.read())[4:8] == b"ftyp"
    rpcs = [c["rpcid"] for c in worker.calls]
    for rpcid in ("YhhmEf", "nprQif", "eb1hJf", "MZZa6b", "jwpduf", "as29s", "maseQ"):
        assert rpcid in rpcs, rpcs
    generates = [c for c in worker.calls if c["rpcid"] in ("YhhmEf", "nprQif", "eb1hJf", "MZZa6b")]
    assert all(c["captcha"]["action"] == "VIDEO_GENERATION" for c in generates)
    assert all(c["captcha"] is None for c in worker.calls if c["rpcid"] in ("jwpduf", "as29s"))
    assert simulator.sim.stats.calls("video.submit") == 0  # nothing over the legacy REST host
    assert len(generates) == 5  # one submit per video, never a second


async def test_upscale_and_extend_over_batchexecute(
    worker: ScriptedWorker, gateway: TestClient, auth: dict[str, str]
) -> None:
    video = await create(gateway, auth, {"prompt": "x", "model": "veo_3_1-fast-hd"})
    assert (await finished(gateway, auth, video["id"]))["status"] == "completed"
    resp = await gateway.post(
        f"/v1/videos/{video['id']}/remix", json={"prompt": "more", "model": "veo_3_1-extend"}, headers=auth
    )
    extended = await finished(gateway, auth, (await resp.json())["id"])
    assert extended["status"] == "completed", extended
    assert [c["rpcid"] for c in worker.calls].count("p0UkFb") == 1
    assert [c["rpcid"] for c in worker.calls].count("fZytfe") == 1


async def test_a_failed_job_over_batchexecute(
    worker: ScriptedWorker, gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(
        route="batch.YhhmEf", kind="video_failed", reason="PUBLIC_ERROR_UNSAFE_GENERATION"
    )
    done = await finished(
        gateway, auth, (await create(gateway, auth, {"prompt": "x", "model": "veo_3_1"}))["id"]
    )
    assert (done["status"], done["error"]["code"]) == ("failed", "moderation_blocked")
