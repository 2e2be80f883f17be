"""Video strictness: envelope, key/method/orientation rules, frames, extend and upsample, the mp4 itself."""

from __future__ import annotations

import base64
import io
import struct
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from gateway.simulator import Simulator
from tests.simulator.batch_support import DURATION, Clock
from tests.simulator.test_strictness import COOKIE, UA, Flow, google_error
from tests.simulator.test_video_and_control import poll, status, video_body


async def upload(flow: Flow) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (16, 9)).save(buf, format="JPEG")
    body = {
        "clientContext": flow.ctx(None),
        "fileName": "f.jpg",
        "imageBytes": base64.b64encode(buf.getvalue()).decode(),
        "isHidden": False,
        "isUserUploaded": True,
        "mimeType": "image/jpeg",
    }
    return str((await (await flow.post("/v1/flow/uploadImage", body)).json())["media"]["name"])


async def submit(flow: Flow, method: str, key: str, **extra: Any) -> Any:
    body = video_body(flow, await flow.token("VIDEO_GENERATION"), key, **extra)
    return await flow.post(f"/v1/video:batchAsyncGenerateVideo{method}", body)


async def finished(flow: Flow, clock: Clock, name: str) -> None:
    clock.advance(DURATION)
    (entry,) = await poll(flow, [name])
    assert status(entry).endswith("SUCCESSFUL"), entry


@pytest.fixture
async def flow(client: TestClient) -> Flow:
    flow = Flow(client)
    await flow.login()
    return flow


@pytest.mark.parametrize(
    ("method", "key", "extra"),
    [
        ("Text", "veo_3_1_i2v_s_fast", {}),  # an image key on the text method
        ("Text", "veo_3_1_t2v_fast_portrait", {}),  # portrait key, landscape aspect
        ("Text", "veo_3_1_t2v_fast", {"seed": "5"}),
        ("Text", "veo_3_1_t2v_fast", {"textInput": {"prompt": "legacy shape"}}),
        ("StartImage", "veo_3_1_i2v_s_fast", {"startImage": {"mediaId": "not-mine"}}),
        ("ReferenceImages", "veo_3_1_r2v_fast_landscape", {"referenceImages": [{"mediaId": "x"}]}),
        ("Nope", "veo_3_1_t2v_fast", {}),
    ],
)
async def test_video_requests_are_checked(flow: Flow, method: str, key: str, extra: dict[str, Any]) -> None:
    resp = await submit(flow, method, key, **extra)
    assert resp.status in (400, 404)


async def test_envelope_and_tier_must_be_right(flow: Flow) -> None:
    for mutate in ("tier", "batch", "v2", "two"):
        body = video_body(flow, await flow.token("VIDEO_GENERATION"))
        if mutate == "tier":
            body["clientContext"]["userPaygateTier"] = "PAYGATE_TIER_ONE"
        elif mutate == "batch":
            del body["mediaGenerationContext"]
        elif mutate == "v2":
            del body["useV2ModelConfig"]
        else:
            body["requests"] *= 2
        resp = await flow.post("/v1/video:batchAsyncGenerateVideoText", body)
        assert (await google_error(resp))[:2] == (400, "INVALID_ARGUMENT"), mutate


async def test_image_token_does_not_make_a_video(flow: Flow) -> None:
    body = video_body(flow, await flow.token("IMAGE_GENERATION"))
    resp = await flow.post("/v1/video:batchAsyncGenerateVideoText", body)
    assert await google_error(resp) == (403, "PERMISSION_DENIED", ["PUBLIC_ERROR_UNUSUAL_ACTIVITY"])


async def test_text_plain_body_is_accepted(flow: Flow, client: TestClient) -> None:
    body = video_body(flow, await flow.token("VIDEO_GENERATION"))
    headers = {
        "authorization": f"Bearer {flow.at}",
        "User-Agent": UA,
        "Content-Type": "text/plain;charset=UTF-8",
    }
    resp = await client.post(
        "/v1/video:batchAsyncGenerateVideoText", data=orjson.dumps(body), headers=headers
    )
    assert resp.status == 200, await resp.text()


async def test_frames_references_extend_and_upsample(flow: Flow, sim: Simulator, clock: Clock) -> None:
    first, last = await upload(flow), await upload(flow)
    frames = {"startImage": {"mediaId": first}, "endImage": {"mediaId": last}}
    assert (await submit(flow, "StartAndEndImage", "veo_3_1_i2v_s_fast_fl", **frames)).status == 200
    start = {"startImage": {"mediaId": first}}
    assert (await submit(flow, "StartImage", "veo_3_1_i2v_s_fast_ultra", **start)).status == 200
    refs = {"referenceImages": [{"imageUsageType": "IMAGE_USAGE_TYPE_ASSET", "mediaId": first}]}
    assert (await submit(flow, "ReferenceImages", "veo_3_1_r2v_fast_landscape_ultra", **refs)).status == 200
    base = await (await submit(flow, "Text", "veo_3_1_t2v_fast")).json()
    name = base["media"][0]["name"]
    video_input = {"videoInput": {"mediaId": name}}
    early = await submit(
        flow, "ExtendVideo", "veo_3_1_extend_landscape", metadata={"workflowId": "w"}, **video_input
    )
    assert early.status == 400  # the source is not finished yet
    await finished(flow, clock, name)
    extend = await submit(
        flow, "ExtendVideo", "veo_3_1_extend_landscape", metadata={"workflowId": "w"}, **video_input
    )
    assert extend.status == 200
    no_text: dict[str, Any] = {"textInput": None, "metadata": {"sceneId": "s"}, **video_input}
    wrong = await submit(
        flow, "UpsampleVideo", "veo_3_1_upsampler_4k", resolution="VIDEO_RESOLUTION_1080P", **no_text
    )
    assert wrong.status == 400
    up = await submit(
        flow, "UpsampleVideo", "veo_3_1_upsampler_4k", resolution="VIDEO_RESOLUTION_4K", **no_text
    )
    upsampled = (await up.json())["media"][0]["name"]
    await finished(flow, clock, upsampled)
    assert sim.stats.calls("video.submit", account="u@x", with_token=True) == 6


async def test_pro_account_cannot_use_the_4k_upsampler(client: TestClient, clock: Clock) -> None:
    flow = Flow(client, "st-p")
    await flow.login()
    name = (await (await submit(flow, "Text", "veo_3_1_t2v_lite")).json())["media"][0]["name"]
    await finished(flow, clock, name)
    extra = {"textInput": None, "metadata": {"sceneId": "s"}, "videoInput": {"mediaId": name}}
    resp = await submit(
        flow, "UpsampleVideo", "veo_3_1_upsampler_4k", resolution="VIDEO_RESOLUTION_4K", **extra
    )
    assert await google_error(resp) == (403, "PERMISSION_DENIED", ["PUBLIC_ERROR_TIER_NOT_ALLOWED"])


def boxes(data: bytes) -> list[bytes]:
    found, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        found.append(data[offset + 4 : offset + 8])
        offset += size
    return found


async def test_mp4_poster_and_foreign_media(flow: Flow, client: TestClient, clock: Clock) -> None:
    name = (await (await submit(flow, "Text", "veo_3_1_t2v_fast")).json())["media"][0]["name"]
    early = await client.get(f"/v1/media/{name}", headers={"authorization": f"Bearer {flow.at}"})
    assert early.status == 404
    await finished(flow, clock, name)
    inline = await (
        await client.get(f"/v1/media/{name}", headers={"authorization": f"Bearer {flow.at}"})
    ).json()
    mp4 = base64.b64decode(inline["video"]["encodedVideo"])
    assert mp4[4:8] == b"ftyp" and boxes(mp4) == [b"ftyp", b"moov", b"mdat"]
    assert inline["video"]["aspectRatio"] == "VIDEO_ASPECT_RATIO_LANDSCAPE"
    thumb = f"/fx/api/trpc/media.getMediaUrlRedirect?name={name}&mediaUrlType=MEDIA_URL_TYPE_THUMBNAIL"
    redirect = await client.get(thumb, headers={"Cookie": f"{COOKIE}=st-u"}, allow_redirects=False)
    poster = await client.get(redirect.headers["Location"].split(str(client.make_url("")))[-1])
    image = Image.open(io.BytesIO(await poster.read()))
    assert image.format == "JPEG" and image.width > image.height
    other = Flow(client, "st-p")
    await other.login()
    assert (
        await client.get(f"/v1/media/{name}", headers={"authorization": f"Bearer {other.at}"})
    ).status == 404
    resp = await other.post("/v1/video:batchCheckAsyncVideoGenerationStatus", {"media": [{"name": name}]})
    assert resp.status == 400  # projectId is mandatory (and the media is not theirs)
