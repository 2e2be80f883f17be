"""Videos over plain HTTP: the documented requests, every input shape, bad inputs, failures, batching,
upscales, extend, Range, and async images."""

from __future__ import annotations

import asyncio
import base64
import io
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp.test_utils import TestClient
from PIL import Image

from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle

ClientWith = Callable[..., Awaitable[TestClient]]
FAST = {
    "GATEWAY_TASKS_POLL_INTERVAL": "0.1",
    "GATEWAY_TASKS_POLL_AFTER_MS": "50",
    "GATEWAY_TASKS_LINK_DELAY": "0.05",
}


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    return await client_with(env=FAST)


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


def b64_image(colour: tuple[int, int, int] = (10, 200, 10)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (48, 27), colour).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


async def finished(http: TestClient, auth: dict[str, str], video_id: str) -> dict[str, Any]:
    for _ in range(300):
        resp = await http.get(f"/flow/v1/videos/{video_id}", headers=auth)
        doc: dict[str, Any] = await resp.json()
        if doc["status"] in ("completed", "failed"):
            assert "openai-poll-after-ms" not in resp.headers
            return doc
        assert resp.headers["openai-poll-after-ms"] == "50"
        await asyncio.sleep(0.05)
    raise AssertionError(f"{video_id} never finished: {doc}")


async def create(http: TestClient, auth: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    resp = await http.post("/flow/v1/videos", json=body, headers=auth)
    doc: dict[str, Any] = await resp.json()
    assert resp.status == 200, doc
    return doc


async def test_the_documented_requests(http: TestClient, auth: dict[str, str], simulator: SimHandle) -> None:
    text = await create(http, auth, {"prompt": "画小猫", "model": "veo_3_1"})
    refs = await create(
        http,
        auth,
        {"prompt": "画小猫", "model": "veo_3_1", "input_reference": [b64_image(), b64_image((1, 2, 3))]},
    )
    single = await create(
        http, auth, {"prompt": "画小猫", "model": "veo_3_1", "input_reference": b64_image()}
    )
    assert {text["status"], refs["status"], single["status"]} == {"queued"}
    assert text["size"] == "720x1280" and text["seconds"] == "8"  # portrait by default
    for video in (text, refs, single):
        assert (await finished(http, auth, video["id"]))["status"] == "completed"
    assert simulator.sim.stats.calls("video.submit", with_token=True) == 3
    assert simulator.sim.stats.calls("upload") == 3  # two references, one single reference
    content = await http.get(f"/flow/v1/videos/{refs['id']}/content", headers=auth)
    assert content.status == 200 and content.headers["Content-Type"] == "video/mp4"
    data = await content.read()
    assert data[4:8] == b"ftyp" and int(content.headers["Content-Length"]) == len(data)
    part = await http.get(f"/flow/v1/videos/{refs['id']}/content", headers={**auth, "Range": "bytes=4-7"})
    assert part.status == 206 and await part.read() == b"ftyp"


async def test_frames_and_every_input_shape(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    data_url = f"data:image/png;base64,{b64_image()}"
    two = await create(
        http,
        auth,
        {
            "prompt": "a transition",
            "model": "veo_3_1-fl-fast",
            "input_reference": [{"image_url": data_url}, b64_image()],
        },
    )
    form = aiohttp.FormData()
    form.add_field("prompt", "first frame")
    form.add_field("model", "veo_3_1-fl-landscape")
    form.add_field("input_reference[image_url]", data_url)
    one = await (await http.post("/flow/v1/videos", data=form, headers=auth)).json()
    files = aiohttp.FormData()
    files.add_field("prompt", "refs from files")
    files.add_field("model", "veo_3_1-fast")
    for colour in ((1, 1, 1), (2, 2, 2)):
        files.add_field(
            "input_reference[]",
            base64.b64decode(b64_image(colour)),
            filename="r.png",
            content_type="image/png",
        )
    refs = await (await http.post("/flow/v1/videos", data=files, headers=auth)).json()
    for video in (two, one, refs):
        assert (await finished(http, auth, video["id"]))["status"] == "completed", video
    assert one["size"] == "1280x720"
    assert simulator.sim.stats.calls("upload") == 5


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "x", "model": "veo_3_1-fl", "input_reference": [b64_image()] * 3}, "input_reference"),
        ({"prompt": "x", "model": "veo_3_1", "input_reference": [b64_image()] * 4}, "input_reference"),
        ({"prompt": "x", "model": "veo_3_1-fl"}, "input_reference"),
        ({"prompt": "x", "model": "veo_3_1", "seconds": "5"}, "seconds"),
        ({"prompt": "x", "model": "veo_3_1", "seconds": 12}, "seconds"),
        ({"prompt": "x", "model": "veo_3_1", "size": "huge"}, "size"),
        ({"prompt": "x", "model": "veo_3_1", "n": 2}, "n"),
        ({"prompt": "x", "model": "veo_3_1", "colour": "red"}, "colour"),
        ({"model": "veo_3_1"}, "prompt"),
        ({"prompt": "x", "model": "nano_banana"}, "model"),
        ({"prompt": "x", "model": "veo_3_1-extend"}, "model"),
        ({"prompt": "x", "model": "veo_3_1-4s-6s"}, "model"),
        ({"prompt": "x", "model": "veo_3_1", "seconds": "10"}, "seconds"),  # Omni Flash's length only
        ({"prompt": "x", "model": "omni_flash", "input_reference": [b64_image()] * 8}, "input_reference"),
        ({"prompt": "x", "model": "veo_3_1", "seconds": "4", "input_reference": b64_image()}, "seconds"),
        (
            {"prompt": "x", "model": "veo_3_1", "input_reference": {"image_url": "a", "file_id": "b"}},
            "input_reference",
        ),
        ({"prompt": "x", "model": "veo_3_1", "input_reference": "not an image"}, "input_reference"),
    ],
)
async def test_bad_inputs_name_their_param(
    http: TestClient, auth: dict[str, str], simulator: SimHandle, body: dict[str, Any], param: str
) -> None:
    resp = await http.post("/flow/v1/videos", json=body, headers=auth)
    error = (await resp.json())["error"]
    assert resp.status == 400, error
    assert error["param"] == param, error
    assert simulator.sim.stats.calls("video.submit") == 0


async def test_failed_jobs_and_their_reasons(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="video.submit", kind="video_failed", count=1)
    audio = await create(http, auth, {"prompt": "x", "model": "veo_3_1-fast"})
    done = await finished(http, auth, audio["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "moderation_blocked" and "AUDIO_FILTERED" in done["error"]["message"]
    simulator.sim.faults.add(
        route="video.submit", kind="video_failed", count=1, reason="PUBLIC_ERROR_INTERNAL"
    )
    internal = await finished(
        http, auth, (await create(http, auth, {"prompt": "x", "model": "veo_3_1-fast"}))["id"]
    )
    assert internal["error"]["code"] == "video_failed"
    assert simulator.sim.stats.calls("video.submit") == 2  # a failed job is never resubmitted
    content = await http.get(f"/flow/v1/videos/{internal['id']}/content", headers=auth)
    assert content.status == 400 and (await content.json())["error"]["code"] == "video_not_ready"


async def test_poll_errors_are_survived_and_a_stuck_job_times_out(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await client_with(env={**FAST, "GATEWAY_TASKS_VIDEO_DEADLINE": "1.5"})
    simulator.sim.faults.add(route="video.status", kind="internal", count=2)
    survives = await create(http, auth, {"prompt": "x", "model": "veo_3_1-fast"})
    assert (await finished(http, auth, survives["id"]))["status"] == "completed"
    simulator.sim.faults.add(route="video.submit", kind="video_stuck", count=1)
    stuck = await create(http, auth, {"prompt": "x", "model": "veo_3_1-fast"})
    done = await finished(http, auth, stuck["id"])
    assert (done["status"], done["error"]["code"]) == ("failed", "upstream_timeout")


async def test_many_jobs_of_one_account_share_their_status_calls(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle
) -> None:
    one = '[[accounts]]\nlabel = "only"\nsession_token = "st-ultra-1"\nvideo_concurrency = 10\n'
    env = {**FAST, "GATEWAY_TASKS_POLL_INTERVAL": "0.8", "GATEWAY_TASKS_POLL_BATCH": "5"}
    http = await client_with(env=env, accounts=one)
    videos = [await create(http, auth, {"prompt": f"v{i}", "model": "veo_3_1-fast"}) for i in range(10)]
    for video in videos:
        assert (await finished(http, auth, video["id"]))["status"] == "completed"
    calls = simulator.sim.stats.calls("video.status")
    assert 2 <= calls <= 4, calls  # 10 jobs, 5 per call: about 2 calls, not 10 (or 10 per round)
    metrics = await (await http.get("/metrics")).text()
    assert f"gateway_video_polls_total {float(calls)}" in metrics
    asked = re.search(r"gateway_video_poll_jobs_total (\d+)", metrics)
    assert asked is not None and int(asked.group(1)) >= 10


async def test_upscales_and_extend(http: TestClient, auth: dict[str, str], simulator: SimHandle) -> None:
    hd = await create(http, auth, {"prompt": "x", "model": "veo_3_1-landscape-fast-hd"})
    uhd = await create(http, auth, {"prompt": "x", "model": "veo_3_1-fast-4K|[ultra]"})
    assert (hd["size"], uhd["size"]) == ("1920x1080", "2160x3840")
    for video in (hd, uhd):
        assert (await finished(http, auth, video["id"]))["status"] == "completed"
    submits = [r.describe()["account"] for r in simulator.sim.stats.log if r.route == "video.submit"]
    assert len(submits) == 4  # two generations, two upsamples
    resp = await http.post(
        f"/flow/v1/videos/{hd['id']}/remix",
        json={"prompt": "and then", "model": "veo_3_1-extend"},
        headers=auth,
    )
    extended = await resp.json()
    assert resp.status == 200 and extended["remixed_from_video_id"] == hd["id"]
    assert (await finished(http, auth, extended["id"]))["status"] == "completed"
    log = [r for r in simulator.sim.stats.log if r.route == "video.submit"]
    assert log[-1].account == log[0].account  # the extend ran on the account that holds the source


async def test_a_failed_upscale_keeps_the_generated_video(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    video = await create(http, auth, {"prompt": "x", "model": "veo_3_1-landscape-fast-hd"})
    for _ in range(100):  # once the generation is submitted, the next submit is the upscale
        doc = await (await http.get(f"/flow/v1/videos/{video['id']}", headers=auth)).json()
        if doc["status"] == "in_progress":
            break
        await asyncio.sleep(0.01)
    simulator.sim.faults.add(route="video.submit", kind="internal", count=1)
    done = await finished(http, auth, video["id"])
    assert done["status"] == "completed" and done["error"] is None
    assert "upscale to 1080p failed" in done["notice"] and done["size"] == "1280x720"
    content = await http.get(f"/flow/v1/videos/{video['id']}/content", headers=auth)
    assert (await content.read())[4:8] == b"ftyp"


async def test_async_images(http: TestClient, auth: dict[str, str]) -> None:
    resp = await http.post(
        "/flow/v1/images/generations?async=true",
        json={"model": "nano_banana", "prompt": "x", "n": 2, "response_format": "url"},
        headers=auth,
    )
    assert resp.status == 202
    task = await resp.json()
    assert task["object"] == "image.task" and task["status"] in ("queued", "in_progress")
    for _ in range(200):
        doc = await (await http.get(f"/flow/v1/images/{task['id']}", headers=auth)).json()
        if doc["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert len(doc["data"]) == 2
    image = await http.get(yarl.URL(doc["data"][0]["url"]).path_qs)  # signed: no licence needed
    assert image.status == 200
    body = {"model": "nano_banana", "prompt": "x", "async": True}
    b64 = await (await http.post("/flow/v1/images/generations", json=body, headers=auth)).json()
    for _ in range(200):
        doc = await (await http.get(f"/flow/v1/images/{b64['id']}", headers=auth)).json()
        if doc["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert base64.b64decode(doc["data"][0]["b64_json"])[:2] == b"\xff\xd8"
    missing = await http.get("/flow/v1/images/imgtask_nope", headers=auth)
    assert missing.status == 404
