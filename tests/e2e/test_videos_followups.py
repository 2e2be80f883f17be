"""Extensions and edits of completed videos (``POST /v1/videos/extensions`` and ``/v1/videos/edits``),
over flow.google.com through a browser worker, driven by the official Python and JavaScript SDKs as
they send them (multipart with ``video[id]``)."""

from __future__ import annotations

import asyncio
import json
import shutil
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.pool.account import worker_account_id
from gateway.simulator import SimAccount, SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.e2e.test_videos_http import FAST, create, finished
from tests.support.scripted_worker import ScriptedWorker, WorkerAccount

SECRET = "worker-secret-for-tests"
JS_DIR = Path(__file__).parents[1] / "js"
ClientWith = Callable[..., Awaitable[TestClient]]
GENERATING = ("YhhmEf", "eb1hJf", "nprQif", "MZZa6b", "fZytfe", "jIps6")


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
def sim_accounts() -> list[SimAccount]:
    return [
        SimAccount("st-ultra-1", "ultra1@example.com", "PAYGATE_TIER_TWO", 5000),
        # A catalogue from before Omni Flash's edit: the gateway must refuse an edit of its videos.
        SimAccount("st-legacy-1", "legacy1@example.com", "PAYGATE_TIER_TWO", 5000, cohort="legacy"),
    ]


@pytest.fixture
async def gateway(client_with: ClientWith) -> TestClient:
    env = {**FAST, "GATEWAY_WORKERS_SECRET": SECRET, "GATEWAY_WORKERS_DEFAULT_TIER": "ultra"}
    return await client_with(env, accounts="")


@pytest.fixture
async def worker(gateway: TestClient, simulator: SimHandle) -> AsyncIterator[ScriptedWorker]:
    url = str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1) + f"?key={SECRET}"
    accounts = [
        WorkerAccount("acct-u", "st-ultra-1", simulator.sim.project_of("st-ultra-1"), groups=["migrated"]),
        WorkerAccount("acct-l", "st-legacy-1", simulator.sim.project_of("st-legacy-1"), groups=["legacy"]),
    ]
    scripted = ScriptedWorker(url, simulator.url, accounts)
    await scripted.start()
    yield scripted
    await scripted.stop()


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


@pytest.fixture
async def sdk(gateway: TestClient, licence_key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's Sora deprecation notices
    async with openai.AsyncOpenAI(
        base_url=str(gateway.make_url("/flow/v1")), api_key=licence_key, max_retries=0
    ) as client:
        yield client


def by_id(video_id: str) -> dict[str, Any]:
    """``video={"id": …}`` as the Python SDK can send it: openai-python 3.57 refuses a dict at
    ``video`` before sending (its multipart file extraction asserts a file there), so the reference
    goes in ``extra_body``, which it encodes as the ``video[id]`` part the JavaScript SDK sends."""
    return {"video": openai.omit, "extra_body": {"video": {"id": video_id}}}


def generating(worker: ScriptedWorker) -> list[str]:
    return [c["rpcid"] for c in worker.calls if c["rpcid"] in GENERATING]


async def catalogue_read(gateway: TestClient, key: str) -> None:
    """The account's Flow catalogue is known (what the gateway refuses an edit by)."""
    for _ in range(200):
        view = gateway.app[keys.POOL].table.view(worker_account_id(key))
        if view is not None and view.models is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the catalogue of {key} was never read")


async def completed_source(gateway: TestClient, auth: dict[str, str], model: str) -> dict[str, Any]:
    video = await create(gateway, auth, {"prompt": "a lighthouse at dusk", "model": model})
    done = await finished(gateway, auth, video["id"])
    assert done["status"] == "completed", done
    return done


async def test_the_python_sdk_extends_and_edits(
    worker: ScriptedWorker, gateway: TestClient, auth: dict[str, str], sdk: openai.AsyncOpenAI
) -> None:
    source = await completed_source(gateway, auth, "veo_3_1-landscape-fast|[migrated]")
    extension = await sdk.videos.extend(**by_id(source["id"]), prompt="the beam sweeps on", seconds="8")
    assert (extension.status, extension.remixed_from_video_id) == ("queued", source["id"])
    extended = await sdk.videos.poll(extension.id)
    assert extended.status == "completed", extended.error
    # Flow's Extend makes a 7 s continuation in the source's frame, on Veo 3.1 Lite by default.
    assert (extended.seconds, extended.size, extended.model) == (
        "7",
        "1280x720",
        "veo_3_1-landscape-lite-extend",
    )
    assert extended.model_extra is not None and extended.model_extra["mode"] == "extend"
    edit = await sdk.videos.edit(**by_id(source["id"]), prompt="make it snow")
    edited = await sdk.videos.poll(edit.id)
    assert edited.status == "completed", edited.error
    assert (edited.seconds, edited.size, edited.remixed_from_video_id) == ("8", "1280x720", source["id"])
    assert edited.model_extra is not None and edited.model_extra["mode"] == "edit"
    assert (await sdk.videos.download_content(edit.id)).read()[4:8] == b"ftyp"
    calls = {c["rpcid"]: c for c in worker.calls}
    assert generating(worker) == ["YhhmEf", "fZytfe", "jIps6"]  # each sent once, never twice
    assert calls["jIps6"]["captcha"]["action"] == "VIDEO_GENERATION"
    inner = json.loads(json.loads(calls["jIps6"]["freq"])[0][0][1])
    edit_item = inner[0][0]
    assert edit_item[2] == "abra_edit" and edit_item[0][2:] == [0, 8 * 24]  # the whole source clip
    # Both ran on the account that holds the source, in its project.
    assert {c["account_key"] for c in worker.calls if c["rpcid"] in GENERATING} == {"acct-u"}


async def test_an_edit_the_holding_account_cannot_do_is_refused_before_any_work(
    worker: ScriptedWorker, gateway: TestClient, auth: dict[str, str], sdk: openai.AsyncOpenAI
) -> None:
    source = await completed_source(gateway, auth, "veo_3_1-fast|[legacy]")
    await catalogue_read(gateway, "acct-l")
    before = len(worker.calls)
    with pytest.raises(openai.PermissionDeniedError) as info:
        await sdk.videos.edit(**by_id(source["id"]), prompt="make it snow")
    assert info.value.code == "model_not_offered" and "abra_edit" in info.value.message
    # No token minted, nothing sent (a catalogue or credits read may happen meanwhile).
    assert [c for c in worker.calls[before:] if c["captcha"] or c["rpcid"] in GENERATING] == []
    # The extension of the same clip is in that catalogue, and runs.
    extension = await sdk.videos.extend(**by_id(source["id"]), prompt="on and on", seconds="7")
    assert (await sdk.videos.poll(extension.id)).status == "completed"


async def test_what_cannot_be_extended_or_edited(
    worker: ScriptedWorker, gateway: TestClient, auth: dict[str, str], sdk: openai.AsyncOpenAI
) -> None:
    omni = await completed_source(gateway, auth, "omni_flash-4s|[migrated]")
    with pytest.raises(openai.BadRequestError) as info:
        await sdk.videos.extend(**by_id(omni["id"]), prompt="more", seconds="8")
    assert info.value.param == "video" and "only Veo" in info.value.message
    edited = await sdk.videos.poll((await sdk.videos.edit(**by_id(omni["id"]), prompt="at night")).id)
    assert (edited.status, edited.seconds) == ("completed", "4")  # an edit keeps its source's length
    running = await create(gateway, auth, {"prompt": "x", "model": "veo_3_1-fast|[migrated]"})
    with pytest.raises(openai.BadRequestError) as info:
        await sdk.videos.extend(**by_id(running["id"]), prompt="more", seconds="8")
    assert info.value.code == "video_not_ready"
    with pytest.raises(openai.BadRequestError) as info:
        await sdk.videos.extend(**by_id(omni["id"]), prompt="more", seconds="12")
    assert info.value.param == "seconds"
    with pytest.raises(openai.NotFoundError):
        await sdk.videos.edit(**by_id("video_" + "0" * 32), prompt="x")
    with pytest.raises(openai.BadRequestError) as info:  # a video file: Flow edits only its own clips
        await sdk.videos.edit(
            video=("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(64), "video/mp4"), prompt="x"
        )
    assert info.value.code == "unsupported_video_upload"
    assert (await finished(gateway, auth, running["id"]))["status"] == "completed"


async def test_json_bodies_and_bad_ones(
    worker: ScriptedWorker, gateway: TestClient, auth: dict[str, str]
) -> None:
    source = await completed_source(gateway, auth, "veo_3_1-fast|[migrated]")
    resp = await gateway.post(
        "/v1/videos/extensions",
        json={"video": {"id": source["id"]}, "prompt": "go on", "seconds": 8},
        headers=auth,
    )
    doc = await resp.json()
    assert resp.status == 200 and doc["mode"] == "extend", doc
    assert resp.headers["openai-poll-after-ms"] == "50"
    for body, param in (
        ({"prompt": "x"}, "video"),
        ({"video": {"id": source["id"]}}, "prompt"),
        ({"video": {"id": source["id"]}, "prompt": "x", "seconds": "8"}, "seconds"),  # an edit has none
        ({"video": {"ident": source["id"]}, "prompt": "x"}, "video"),
    ):
        resp = await gateway.post("/v1/videos/edits", json=body, headers=auth)
        error = (await resp.json())["error"]
        assert (resp.status, error["param"]) == (400, param), error
    form = aiohttp.FormData()
    form.add_field("video[id]", source["id"])
    form.add_field("prompt", "go on")
    form.add_field("model", "veo_3_1-portrait-extend")  # the source is portrait: fine
    resp = await gateway.post("/v1/videos/extensions", data=form, headers=auth)
    assert resp.status == 200, await resp.text()
    other = aiohttp.FormData()
    other.add_field("video[id]", source["id"])
    other.add_field("prompt", "go on")
    other.add_field("model", "veo_3_1-landscape-extend")
    resp = await gateway.post("/v1/videos/extensions", data=other, headers=auth)
    assert resp.status == 400 and (await resp.json())["error"]["param"] == "model"
    assert (await finished(gateway, auth, doc["id"]))["status"] == "completed"


@pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed: the JavaScript SDK cannot run"
)
async def test_the_javascript_sdk(worker: ScriptedWorker, gateway: TestClient, licence_key: str) -> None:
    await _npm_ci()
    env = {
        "PATH": str(Path(shutil.which("node") or "node").parent),
        "OPENAI_BASE_URL": str(gateway.make_url("/flow/v1")),
        "OPENAI_API_KEY": licence_key,
        "GROUP": "|[migrated]",
    }
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_DIR / "openai_sdk.mjs"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-3000:]
    report = json.loads(out)
    assert report["image"] == {"format": "jpeg", "jpeg": True, "count": 1}
    assert report["video"] == {"status": "completed", "mode": "text", "mp4": True}
    assert report["extension"] == {"status": "completed", "mode": "extend", "seconds": "7"}
    assert report["edit"] == {"status": "completed", "mode": "edit", "mp4": True}
    assert report["alias"] == {"id": "sora-2", "alias_of": "veo_3_1-fast"}
    assert generating(worker).count("jIps6") == 1 and generating(worker).count("fZytfe") == 1


async def _npm_ci() -> None:
    """The SDK at the version tests/js/package-lock.json pins (installed once, from the npm registry)."""
    if (JS_DIR / "node_modules" / "openai" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not: cannot install tests/js's openai SDK")
    proc = await asyncio.create_subprocess_exec(
        npm,
        "ci",
        "--no-audit",
        "--no-fund",
        cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(300):
        out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()[-3000:]
