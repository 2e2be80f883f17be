"""The simulator's video lifecycle, credits, concurrency counters and its /_sim control API."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.simulator.batch_support import DURATION, Clock
from tests.simulator.test_strictness import COOKIE, KEY, Flow, google_error

TIERS = {"st-u": "PAYGATE_TIER_TWO", "st-p": "PAYGATE_TIER_ONE"}


def video_body(flow: Flow, token: str, key: str = "veo_3_1_t2v_fast", **extra: Any) -> dict[str, Any]:
    ctx = {**flow.ctx(token), "userPaygateTier": TIERS.get(flow.st, "PAYGATE_TIER_NOT_PAID")}
    request = {
        "aspectRatio": "VIDEO_ASPECT_RATIO_LANDSCAPE",
        "seed": 5,
        "videoModelKey": key,
        "textInput": {"structuredPrompt": {"parts": [{"text": "a pig flying"}]}},
        "metadata": {},
        **extra,
    }
    return {
        "mediaGenerationContext": {"batchId": "b", "audioFailurePreference": "BLOCK_SILENCED_VIDEOS"},
        "clientContext": ctx,
        "requests": [request],
        "useV2ModelConfig": True,
    }


async def poll(flow: Flow, names: list[str]) -> list[dict[str, Any]]:
    resp = await flow.post(
        "/v1/video:batchCheckAsyncVideoGenerationStatus",
        {"media": [{"name": n, "projectId": flow.project} for n in names]},
    )
    assert resp.status == 200, await resp.text()
    return (await resp.json())["media"]  # type: ignore[no-any-return]


def status(entry: dict[str, Any]) -> str:
    return str(entry["mediaMetadata"]["mediaStatus"]["mediaGenerationStatus"])


async def test_video_lifecycle_to_a_real_mp4(client: TestClient, clock: Clock) -> None:
    flow = Flow(client)
    await flow.login()
    resp = await flow.post(
        "/v1/video:batchAsyncGenerateVideoText", video_body(flow, await flow.token("VIDEO_GENERATION"))
    )
    created = await resp.json()
    assert created["remainingCredits"] == 90
    names = [created["media"][0]["name"]]
    assert status(created["media"][0]) == "MEDIA_GENERATION_STATUS_PENDING"
    seen = []
    for _ in range(4):
        (entry,) = await poll(flow, names)
        seen.append(status(entry))
        clock.advance(DURATION * 0.4)
    assert seen == [
        "MEDIA_GENERATION_STATUS_PENDING",
        "MEDIA_GENERATION_STATUS_ACTIVE",
        "MEDIA_GENERATION_STATUS_ACTIVE",
        "MEDIA_GENERATION_STATUS_SUCCESSFUL",
    ]
    redirect = await client.get(
        f"/fx/api/trpc/media.getMediaUrlRedirect?name={names[0]}&mediaUrlType=MEDIA_URL_TYPE_FULL_MEDIA",
        headers={"Cookie": f"{COOKIE}=st-u"},
        allow_redirects=False,
    )
    assert redirect.status == 302
    mp4 = await (await client.get(redirect.headers["Location"].split(str(client.make_url("")))[-1])).read()
    assert mp4[4:8] == b"ftyp" and b"moov" in mp4 and b"mdat" in mp4
    inline = await (
        await client.get(f"/v1/media/{names[0]}", headers={"authorization": f"Bearer {flow.at}"})
    ).json()
    assert base64.b64decode(inline["video"]["encodedVideo"]) == mp4


async def test_video_failure_and_batched_poll(client: TestClient, sim: Simulator, clock: Clock) -> None:
    flow = Flow(client)
    await flow.login()
    sim.faults.add(route="video.submit", kind="video_failed", count=1)
    names = []
    for _ in range(3):
        resp = await flow.post(
            "/v1/video:batchAsyncGenerateVideoText", video_body(flow, await flow.token("VIDEO_GENERATION"))
        )
        names.append((await resp.json())["media"][0]["name"])
    clock.advance(DURATION)
    entries = await poll(flow, names)
    assert [status(e) for e in entries] == ["MEDIA_GENERATION_STATUS_FAILED"] + [
        "MEDIA_GENERATION_STATUS_SUCCESSFUL"
    ] * 2
    assert entries[0]["mediaMetadata"]["mediaStatus"]["error"]["reason"] == "PUBLIC_ERROR_AUDIO_FILTERED"
    assert sim.stats.calls("video.status") == 1


@pytest.mark.parametrize(
    ("session", "key", "extra", "status_code"),
    [
        ("st-p", "veo_3_1_t2v_fast_ultra", {}, 403),
        ("st-u", "veo_3_1_t2v_fast_portrait_relaxed", {}, 400),
        ("st-u", "veo_3_1_r2v_fast_landscape", {"referenceImages": [{"mediaId": "x"}] * 4}, 400),
        ("st-u", "veo_3_1_t2v_fast", {"aspectRatio": "VIDEO_ASPECT_RATIO_SQUARE"}, 400),
    ],
)
async def test_video_submit_refusals(
    client: TestClient, session: str, key: str, extra: dict[str, Any], status_code: int
) -> None:
    flow = Flow(client, session)
    await flow.login()
    method = "ReferenceImages" if "referenceImages" in extra else "Text"
    body = video_body(flow, await flow.token("VIDEO_GENERATION"), key, **extra)
    resp = await flow.post(f"/v1/video:batchAsyncGenerateVideo{method}", body)
    assert resp.status == status_code


async def test_credits_run_out(client: TestClient) -> None:
    flow = Flow(client, "st-p")
    await flow.login()
    await flow.post(
        "/v1/video:batchAsyncGenerateVideoText", video_body(flow, await flow.token("VIDEO_GENERATION"))
    )
    resp = await flow.post(
        "/v1/video:batchAsyncGenerateVideoText", video_body(flow, await flow.token("VIDEO_GENERATION"))
    )
    assert await google_error(resp) == (429, "RESOURCE_EXHAUSTED", ["PUBLIC_ERROR_USER_QUOTA_EXCEEDED"])
    credits = await (await client.get("/v1/credits", headers={"authorization": f"Bearer {flow.at}"})).json()
    assert credits == {"credits": 5, "userPaygateTier": "PAYGATE_TIER_ONE"}


async def test_max_inflight_is_counted(aiohttp_client: Callable[..., Any]) -> None:
    sim = Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key=KEY, route_latency={"images.generate": 0.1}),
        accounts=[SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO")],
    )
    client = await aiohttp_client(sim.create_app())
    flow = Flow(client)
    await flow.login()
    tokens = [await flow.token() for _ in range(3)]
    results = await asyncio.gather(*(flow.generate(flow.image_body(t)) for t in tokens))
    assert [r.status for r in results] == [200, 200, 200]
    assert sim.stats.max_inflight("u@x") == 3


async def test_control_api(client: TestClient, sim: Simulator) -> None:
    resp = await client.post(
        "/_sim/accounts",
        json={"session_token": "st-new", "email": "n@x", "tier": "PAYGATE_TIER_NOT_PAID", "credits": 3},
    )
    assert resp.status == 200
    assert any(a["email"] == "n@x" for a in await (await client.get("/_sim/accounts")).json())
    assert (await client.post("/_sim/faults", json={"route": "credits", "kind": "nope"})).status == 400
    assert (
        await client.post("/_sim/faults", json={"route": "credits", "kind": "internal", "count": 1})
    ).status == 200
    flow = Flow(client, "st-new")
    await flow.login()
    assert (await client.get("/v1/credits", headers={"authorization": f"Bearer {flow.at}"})).status == 500
    stats = await (await client.get("/_sim/stats")).json()
    assert {"route": "credits", "account": "n@x", "with_token": False, "count": 1} in stats["calls"]
    await client.delete("/_sim/faults")
    await client.post("/_sim/reset")
    assert sim.stats.calls("credits") == 0
