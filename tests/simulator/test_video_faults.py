"""Video job faults and the 4K upscale: ``video_stuck``, ``video_failed``'s reason, p0UkFb at 4K.

Each fault is driven over both paths (aisandbox REST and flow.google.com batchexecute) and checked on
the wire: statuses over time, the failure reason where each path puts it, ids and RPC status lists.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain import Aspect
from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from gateway.upstream.flow import batch_rpcs as rpc
from tests.simulator.test_flow_google import SETTINGS, Page, status_of, submit_video, wait_done
from tests.simulator.test_strictness import COOKIE, KEY, Flow
from tests.simulator.test_video_and_control import poll, status, video_body

DURATION = 0.2  # submit-to-done; short so that waiting past it keeps every test well under a second
ACTIVE, SUCCESSFUL = "MEDIA_GENERATION_STATUS_ACTIVE", "MEDIA_GENERATION_STATUS_SUCCESSFUL"
FAILED = "MEDIA_GENERATION_STATUS_FAILED"
CUSTOM_REASON = "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED"


@pytest.fixture
def sim() -> Simulator:
    """Overrides conftest's simulator: the same accounts on a shorter video timeline."""
    return Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key=KEY, video_duration=DURATION),
        accounts=[
            SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO", 100),
            SimAccount("st-p", "p@x", "PAYGATE_TIER_ONE", 15),
        ],
    )


@pytest.fixture
async def flow(client: TestClient) -> Flow:
    rest = Flow(client)
    await rest.login()
    return rest


@pytest.fixture
async def tab(client: TestClient, sim: Simulator) -> Page:
    page = Page(client, sim)
    await page.load()
    return page


async def rest_submit(flow: Flow) -> str:
    body = video_body(flow, await flow.token("VIDEO_GENERATION"))
    resp = await flow.post("/v1/video:batchAsyncGenerateVideoText", body)
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["media"][0]["name"])


def wrb_frame(text: str, rpcid: str) -> list[Any]:
    """The ``wrb.fr`` frame of ``rpcid`` in a framed reply (parsed here, not by the gateway's codec)."""
    for line in text.splitlines():
        if line.startswith("[["):
            for frame in json.loads(line):
                if frame[0] == "wrb.fr" and frame[1] == rpcid:
                    return frame  # type: ignore[no-any-return]
    raise AssertionError(f"no {rpcid} frame in {text!r}")


async def rpc_call(page: Page, rpcid: str, inner: object, *, token: bool = True) -> tuple[Any, Any]:
    """One RPC: (decoded payload or None, the error status list or None)."""
    minted = await page.mint("VIDEO_GENERATION") if token else None
    frame = wrb_frame(await (await page.call(rpcid, inner, token=minted)).text(), rpcid)
    return (None if frame[2] is None else json.loads(frame[2])), frame[5]


def upscale_inner(media_id: str, key: str) -> list[Any]:
    inner: list[Any] = rpc.video_upscale(media_id, "G", Aspect.LANDSCAPE, SETTINGS)
    inner[0][0][31] = key
    return inner


async def batch_record(page: Page, media_id: str) -> list[Any]:
    payload, error = await rpc_call(page, "jwpduf", rpc.poll([media_id]), token=False)
    assert error is None
    return payload[0][0]  # type: ignore[no-any-return]


async def finished_video(page: Page, key: str = "veo_3_1_t2v_fast") -> str:
    media_id = await submit_video(page, rpc.VideoRequest("a pig flying", key, Aspect.LANDSCAPE))
    assert (await wait_done(page, media_id))[-1] == 3
    return media_id


# --- video_stuck --------------------------------------------------------------------------------


async def test_rest_stuck_job_stays_active_and_is_never_ready(
    flow: Flow, client: TestClient, sim: Simulator
) -> None:
    sim.faults.add(route="video.submit", kind="video_stuck")
    stuck, normal = await rest_submit(flow), await rest_submit(flow)
    await asyncio.sleep(DURATION * 2.5)
    entries = await poll(flow, [stuck, normal])
    assert [status(e) for e in entries] == [ACTIVE, SUCCESSFUL]  # the fault hit one submit only
    assert "video" not in entries[0] and "error" not in entries[0]["mediaMetadata"]["mediaStatus"]
    inline = await client.get(f"/v1/media/{stuck}", headers={"authorization": f"Bearer {flow.at}"})
    assert inline.status == 404
    redirect = await client.get(
        f"/fx/api/trpc/media.getMediaUrlRedirect?name={stuck}&mediaUrlType=MEDIA_URL_TYPE_FULL_MEDIA",
        headers={"Cookie": f"{COOKIE}=st-u"},
        allow_redirects=False,
    )
    assert redirect.status == 404
    (later,) = await poll(flow, [stuck])
    assert status(later) == ACTIVE


@pytest.mark.parametrize("rpcid", ["YhhmEf", "p0UkFb"])
async def test_batch_stuck_job_stays_running_and_as29s_says_not_found(
    tab: Page, sim: Simulator, rpcid: str
) -> None:
    source = await finished_video(tab) if rpcid == "p0UkFb" else ""
    sim.faults.add(route=f"batch.{rpcid}", kind="video_stuck")
    if rpcid == "p0UkFb":
        created, error = await rpc_call(tab, rpcid, upscale_inner(source, "veo_3_1_upsampler_1080p"))
        assert error is None
        stuck = created[3][0][0][0]
    else:
        stuck = await submit_video(tab, rpc.VideoRequest("p", "veo_3_1_t2v_fast", Aspect.LANDSCAPE))
    await asyncio.sleep(DURATION * 2)
    assert status_of(await batch_record(tab, stuck)) == [2]
    payload, error = await rpc_call(tab, "as29s", rpc.media_record(stuck), token=False)
    assert (payload, error) == (None, [5])


# --- video_failed with a reason -----------------------------------------------------------------


async def test_rest_failed_job_reports_the_reason_set_through_the_control_api(
    flow: Flow, client: TestClient
) -> None:
    resp = await client.post(
        "/_sim/faults", json={"route": "video.submit", "kind": "video_failed", "reason": CUSTOM_REASON}
    )
    assert resp.status == 200 and (await resp.json())["reason"] == CUSTOM_REASON
    assert [f["reason"] for f in await (await client.get("/_sim/faults")).json()] == [CUSTOM_REASON]
    name = await rest_submit(flow)
    await asyncio.sleep(DURATION * 1.5)
    (entry,) = await poll(flow, [name])
    assert status(entry) == FAILED
    error = entry["mediaMetadata"]["mediaStatus"]["error"]
    assert (error["code"], error["reason"]) == (13, CUSTOM_REASON)


@pytest.mark.parametrize(
    ("reason", "details"),
    [
        (None, [4, [3, "PUBLIC_ERROR_AUDIO_FILTERED"], ["AUDIO_FILTERED"], [1]]),
        (CUSTOM_REASON, [4, [3, CUSTOM_REASON], ["PROMINENT_PEOPLE_FILTER_FAILED"], [1]]),
    ],
)
async def test_batch_failed_job_reports_its_reason(
    tab: Page, sim: Simulator, reason: str | None, details: list[Any]
) -> None:
    sim.faults.add(route="batch.YhhmEf", kind="video_failed", reason=reason)
    failed = await submit_video(tab, rpc.VideoRequest("p", "veo_3_1_t2v_fast", Aspect.LANDSCAPE))
    assert (await wait_done(tab, failed))[-1] == 4
    assert status_of(await batch_record(tab, failed)) == details


def test_describe_shows_the_default_reason_only_for_video_failed(sim: Simulator) -> None:
    assert sim.faults.add(route="video.submit", kind="video_failed").describe()["reason"] == (
        "PUBLIC_ERROR_AUDIO_FILTERED"
    )
    assert sim.faults.add(route="video.submit", kind="video_stuck").describe()["reason"] is None


BAD_REASONS = [
    ("video_failed", "AUDIO_FILTERED"),
    ("video_failed", "PUBLIC_ERROR_audio"),
    ("video_failed", "PUBLIC_ERROR_AUDIO_FILTERED\n"),
    ("video_failed", "PUBLIC_ERROR_"),
    ("video_failed", 7),
    ("internal", "PUBLIC_ERROR_AUDIO_FILTERED"),
    ("video_stuck", "PUBLIC_ERROR_AUDIO_FILTERED"),
]


@pytest.mark.parametrize(("kind", "reason"), BAD_REASONS)
def test_bad_reasons_are_refused(sim: Simulator, kind: str, reason: Any) -> None:
    with pytest.raises(ValueError, match="reason"):
        sim.faults.add(route="video.submit", kind=kind, reason=reason)
    assert sim.faults.rules() == []


@pytest.mark.parametrize(("kind", "reason"), BAD_REASONS)
async def test_control_api_answers_400_to_bad_reasons(client: TestClient, kind: str, reason: Any) -> None:
    resp = await client.post("/_sim/faults", json={"route": "video.submit", "kind": kind, "reason": reason})
    assert resp.status == 400 and "reason" in (await resp.json())["error"]
    assert await (await client.get("/_sim/faults")).json() == []


# --- p0UkFb at 4K --------------------------------------------------------------------------------


async def test_ultra_upscales_to_4k_and_1080p_with_distinct_ids(tab: Page, client: TestClient) -> None:
    source = await finished_video(tab)
    ids = {}
    for key in ("veo_3_1_upsampler_4k", "veo_3_1_upsampler_1080p"):
        created, error = await rpc_call(tab, "p0UkFb", upscale_inner(source, key))
        assert error is None and status_of(created[3][0][0]) == [6]
        ids[key] = created[3][0][0][0]
    assert ids == {
        "veo_3_1_upsampler_4k": f"{source}_upsampled_4k",
        "veo_3_1_upsampler_1080p": f"{source}_upsampled",
    }
    seen = await wait_done(tab, ids["veo_3_1_upsampler_4k"])
    assert 2 in seen and seen[-1] == 3  # the upscaled job follows the video timeline
    record, error = await rpc_call(tab, "as29s", rpc.media_record(ids["veo_3_1_upsampler_4k"]), token=False)
    assert error is None
    url = rpc.video_url(record)
    assert url is not None and f"/video/{source}_upsampled_4k?" in url
    mp4 = await (await client.get(url.split(str(client.make_url("")))[-1])).read()
    assert mp4[4:8] == b"ftyp" and record[0][5][13] == len(mp4)


async def test_pro_account_is_refused_4k_but_not_1080p(client: TestClient, sim: Simulator) -> None:
    page = Page(client, sim, "st-p")
    await page.load()
    source = await finished_video(page, "veo_3_1_t2v_lite")  # 5 of the account's 15 credits
    refused, error = await rpc_call(page, "p0UkFb", upscale_inner(source, "veo_3_1_upsampler_4k"))
    assert (refused, error) == (None, [7])
    accounts = await (await client.get("/_sim/accounts")).json()
    assert {a["email"]: a["credits"] for a in accounts}["p@x"] == 10  # the refusal cost nothing
    created, error = await rpc_call(page, "p0UkFb", upscale_inner(source, "veo_3_1_upsampler_1080p"))
    assert error is None and created[3][0][0][0] == f"{source}_upsampled"


async def test_other_upsampler_keys_are_still_invalid(tab: Page) -> None:
    source = await finished_video(tab)
    for key in ("veo_3_1_upsampler_720p", "veo_3_1_upsampler_4K"):
        assert await rpc_call(tab, "p0UkFb", upscale_inner(source, key)) == (None, [3])
