"""Video job faults: ``video_stuck``, ``video_failed`` (its reason and state), ``video_cancelled``, and
the validation of every fault parameter (``reason``, ``form``, ``code``).

Job faults are driven over both paths (aisandbox REST and flow.google.com batchexecute) and checked on
the wire: statuses as the fake clock moves, the failure where each path puts it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import Simulator
from tests.simulator.batch_support import DURATION, Clock, Tab, t2v, upscale
from tests.simulator.test_strictness import COOKIE, Flow
from tests.simulator.test_video_and_control import poll, status, video_body

ACTIVE, SUCCESSFUL = "MEDIA_GENERATION_STATUS_ACTIVE", "MEDIA_GENERATION_STATUS_SUCCESSFUL"
FAILED = "MEDIA_GENERATION_STATUS_FAILED"
CUSTOM_REASON = "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED"


@pytest.fixture
async def flow(client: TestClient) -> Flow:
    rest = Flow(client)
    await rest.login()
    return rest


async def rest_submit(flow: Flow) -> str:
    body = video_body(flow, await flow.token("VIDEO_GENERATION"))
    resp = await flow.post("/v1/video:batchAsyncGenerateVideoText", body)
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["media"][0]["name"])


# --- video_stuck --------------------------------------------------------------------------------


async def test_rest_stuck_job_stays_active_and_is_never_ready(
    flow: Flow, client: TestClient, sim: Simulator, clock: Clock
) -> None:
    sim.faults.add(route="video.submit", kind="video_stuck")
    stuck, normal = await rest_submit(flow), await rest_submit(flow)
    clock.advance(DURATION * 3)
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
    clock.advance(600)  # long after, within the access token's hour
    (later,) = await poll(flow, [stuck])
    assert status(later) == ACTIVE


@pytest.mark.parametrize("rpcid", ["YhhmEf", "p0UkFb"])
async def test_batch_stuck_job_stays_running_and_as29s_answers_its_id(
    tab: Tab, sim: Simulator, clock: Clock, rpcid: str
) -> None:
    if rpcid == "p0UkFb":
        source = await tab.finished()
        inner = upscale(source, "veo_3_1_upsampler_1080p", 2)
    else:
        inner = t2v(tab.project, "veo_3_1_t2v_lite")
    sim.faults.add(route=f"batch.{rpcid}", kind="video_stuck")
    stuck = (await tab.ok(rpcid, inner))[3][0][0]
    clock.advance(DURATION * 10)
    assert (await tab.poll(stuck))[5][8] == [2]
    assert await tab.ok("as29s", [stuck]) == stuck  # a bare id string while the job runs


# --- video_failed and video_cancelled -----------------------------------------------------------


async def test_rest_failed_job_reports_the_reason_set_through_the_control_api(
    flow: Flow, client: TestClient, clock: Clock
) -> None:
    resp = await client.post(
        "/_sim/faults", json={"route": "video.submit", "kind": "video_failed", "reason": CUSTOM_REASON}
    )
    assert resp.status == 200 and (await resp.json())["reason"] == CUSTOM_REASON
    assert [f["reason"] for f in await (await client.get("/_sim/faults")).json()] == [CUSTOM_REASON]
    name = await rest_submit(flow)
    clock.advance(DURATION)
    (entry,) = await poll(flow, [name])
    assert status(entry) == FAILED
    error = entry["mediaMetadata"]["mediaStatus"]["error"]
    assert (error["code"], error["reason"]) == (13, CUSTOM_REASON)


@pytest.mark.parametrize(
    ("fault", "details"),
    [
        ({}, [4, [3, "PUBLIC_ERROR_AUDIO_FILTERED"], ["AUDIO_GENERATION_FILTERED"], [1]]),
        ({"reason": CUSTOM_REASON}, [4, [3, CUSTOM_REASON], ["PROMINENT_PEOPLE_FILTER_FAILED"], [1]]),
        (
            {"reason": CUSTOM_REASON, "code": 7},
            [7, [3, CUSTOM_REASON], ["PROMINENT_PEOPLE_FILTER_FAILED"], [1]],
        ),
    ],
)
async def test_batch_failed_job_reports_its_reason_once_over(
    tab: Tab, sim: Simulator, clock: Clock, fault: dict[str, Any], details: list[Any]
) -> None:
    sim.faults.add(route="batch.YhhmEf", kind="video_failed", **fault)
    failed = (await tab.ok("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite")))[3][0][0]
    assert (await tab.poll(failed))[5][8] == [6]
    clock.advance(DURATION / 2)
    assert (await tab.poll(failed))[5][8] == [2]  # failing is a terminal state, reached on time
    clock.advance(DURATION / 2)
    assert (await tab.poll(failed))[5][8] == details
    record = await tab.ok("as29s", [failed])  # the terminal record, without links
    assert record[5][8] == details and record[7][0][8] is None and record[5][10] is None


async def test_batch_cancelled_job_ends_with_state_5(tab: Tab, sim: Simulator, clock: Clock) -> None:
    sim.faults.add(route="batch.YhhmEf", kind="video_cancelled")
    cancelled = (await tab.ok("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite")))[3][0][0]
    clock.advance(DURATION)
    assert (await tab.poll(cancelled))[5][8] == [5]


async def test_rest_cancelled_job_is_failed(flow: Flow, sim: Simulator, clock: Clock) -> None:
    sim.faults.add(route="video.submit", kind="video_cancelled")
    name = await rest_submit(flow)
    clock.advance(DURATION)
    (entry,) = await poll(flow, [name])
    assert status(entry) == FAILED and entry["mediaMetadata"]["mediaStatus"]["error"]["code"] == 1


def test_describe_shows_the_defaults_of_each_kind(sim: Simulator) -> None:
    failed = sim.faults.add(route="video.submit", kind="video_failed").describe()
    assert (failed["reason"], failed["code"], failed["form"]) == ("PUBLIC_ERROR_AUDIO_FILTERED", 4, None)
    stuck = sim.faults.add(route="video.submit", kind="video_stuck").describe()
    assert (stuck["reason"], stuck["code"], stuck["form"]) == (None, None, None)
    public = sim.faults.add(route="batch.ogiZ0b", kind="public_error", reason="PUBLIC_ERROR_HIGH_TRAFFIC")
    assert (public.reason, public.form, public.code) == ("PUBLIC_ERROR_HIGH_TRAFFIC", "string", 8)


# --- parameter validation -----------------------------------------------------------------------

BAD_PARAMETERS = [
    ("video.submit", "video_failed", {"reason": "AUDIO_FILTERED"}, "reason"),
    ("video.submit", "video_failed", {"reason": "PUBLIC_ERROR_audio"}, "reason"),
    ("video.submit", "video_failed", {"reason": "PUBLIC_ERROR_AUDIO_FILTERED\n"}, "reason"),
    ("video.submit", "video_failed", {"reason": "PUBLIC_ERROR_"}, "reason"),
    ("video.submit", "video_failed", {"reason": 7}, "reason"),
    ("video.submit", "internal", {"reason": "PUBLIC_ERROR_AUDIO_FILTERED"}, "reason"),
    ("video.submit", "video_stuck", {"reason": "PUBLIC_ERROR_AUDIO_FILTERED"}, "reason"),
    ("batch.YhhmEf", "public_error", {}, "reason"),
    ("batch.YhhmEf", "public_error", {"reason": "PUBLIC_ERROR_NOT_IN_THE_ENUM"}, "reason"),
    ("batch.YhhmEf", "public_error", {"reason": "PUBLIC_ERROR_HIGH_TRAFFIC", "form": "hex"}, "form"),
    ("batch.YhhmEf", "public_error", {"reason": "PUBLIC_ERROR_HIGH_TRAFFIC", "code": 17}, "code"),
    ("batch.YhhmEf", "public_error", {"reason": "PUBLIC_ERROR_HIGH_TRAFFIC", "code": True}, "code"),
    ("batch.YhhmEf", "public_error", {"reason": "PUBLIC_ERROR_HIGH_TRAFFIC", "code": "8"}, "code"),
    ("batch.YhhmEf", "quota", {"form": "int"}, "form"),
    ("batch.YhhmEf", "quota", {"code": 8}, "code"),
    ("video.submit", "video_failed", {"code": 5}, "code"),
    ("batch.YhhmEf", "partial_batch", {}, "partial_batch"),
]


@pytest.mark.parametrize(("route", "kind", "params", "word"), BAD_PARAMETERS)
def test_bad_parameters_are_refused(
    sim: Simulator, route: str, kind: str, params: dict[str, Any], word: str
) -> None:
    with pytest.raises(ValueError, match=word):
        sim.faults.add(route=route, kind=kind, **params)
    assert sim.faults.rules() == []


@pytest.mark.parametrize(("route", "kind", "params", "word"), BAD_PARAMETERS)
async def test_control_api_answers_400_to_bad_parameters(
    client: TestClient, route: str, kind: str, params: dict[str, Any], word: str
) -> None:
    resp = await client.post("/_sim/faults", json={"route": route, "kind": kind, **params})
    assert resp.status == 400 and word in (await resp.json())["error"]
    assert await (await client.get("/_sim/faults")).json() == []


async def test_control_api_takes_form_and_code(client: TestClient) -> None:
    rule = {"route": "batch.YhhmEf", "kind": "public_error", "reason": "PUBLIC_ERROR_HIGH_TRAFFIC"}
    resp = await client.post("/_sim/faults", json={**rule, "form": "base64", "code": 14})
    assert resp.status == 200
    described = await resp.json()
    assert (described["form"], described["code"]) == ("base64", 14)
