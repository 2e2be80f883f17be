"""The simulator's flow.google.com driven the way a browser worker drives it, with the gateway's codec:
load the project page, read WIZ_global_data, mint a token through the page's grecaptcha, substitute
it into the f.req the codec built, POST batchexecute, read the reply with the codec's readers.

These tests show the codec and the simulator agree end to end; the shapes themselves are held to the
evidence by ``tests/evidence`` and by the hand-written payloads of the other test files.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import BatchSettings
from gateway.domain import Aspect, ImageData, ImageResolution, UpstreamMedia
from gateway.simulator import Simulator
from gateway.upstream.flow import batch_rpcs as rpc
from gateway.upstream.flow import batch_video as bv
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.batch import ENDPOINT_PATH, encode_freq, parse_reply
from gateway.upstream.flow.transport import ImageGenerationRequest, JobState
from tests.simulator.batch_support import DURATION, Clock, jpeg
from tests.support.flow_page import Page

SETTINGS = BatchSettings()


@pytest.fixture
async def page(client: TestClient, sim: Simulator) -> Page:
    tab = Page(client, sim, "st-u")
    await tab.load()
    return tab


async def call(page: Page, rpcid: str, inner: object, action: str | None = None) -> object:
    """One RPC through the codec's reader: the payload, or the typed error it raises."""
    token = await page.mint(action) if action else None
    reply = await page.call(rpcid, inner, token=token)
    return parse_reply(await reply.text(), rpcid, endpoint=rpcid)


def image_request(model: str = "GEM_PIX_2", count: int = 1, *refs: UpstreamMedia) -> ImageGenerationRequest:
    return ImageGenerationRequest(model, "a fox", Aspect.LANDSCAPE, 7, refs, count=count)


async def uploaded(page: Page) -> UpstreamMedia:
    inner = rpc.upload(ImageData(jpeg(), "image/jpeg"), page.project, "a.jpg", SETTINGS)
    return rpc.parse_upload(await call(page, "maseQ", inner, "IMAGE_GENERATION"), page.project)


async def submitted(page: Page, request: bv.VideoRequest) -> UpstreamMedia:
    rpcid, inner = bv.video_submit(request, page.project, SETTINGS)
    return bv.parse_video_submit(await call(page, rpcid, inner, "VIDEO_GENERATION"), page.project)


async def state(page: Page, job: UpstreamMedia) -> JobState:
    (status,) = bv.parse_video_poll(await call(page, "jwpduf", bv.poll([job.name])), [job])
    return status.state


async def test_page_routing(client: TestClient, sim: Simulator) -> None:
    project = sim.project_of("st-u")
    out = await client.get(f"/project/{project}", allow_redirects=False)
    assert (out.status, out.headers["Location"]) == (302, "/about")
    foreign = await client.get(
        f"/project/{sim.project_of('st-p')}", allow_redirects=False, headers={"Cookie": "__Secure-1PSID=st-u"}
    )
    assert foreign.headers["Location"] == "/404?reason=project"
    about = await (await client.get("/about")).text()
    assert '"SNlM0e": ""' in about.replace('":"', '": "')


async def test_generate_upload_upscale_through_batchexecute(page: Page, sim: Simulator) -> None:
    reference = await uploaded(page)
    inner = rpc.image_generate(image_request("GEM_PIX_2", 3, reference), page.project, SETTINGS)
    images = rpc.parse_image_generate(await call(page, "ogiZ0b", inner, "IMAGE_GENERATION"), page.project)
    assert len(images) == 3 and len({i.media.name for i in images}) == 3
    assert all(i.url and f"/image/{i.media.name}?" in i.url and i.media.workflow for i in images)
    big = await call(
        page, "SPrCad", rpc.image_upscale(images[0].media, ImageResolution.R4K, SETTINGS), "IMAGE_GENERATION"
    )
    assert rpc.parse_image_upscale(big)[:3] == b"\xff\xd8\xff"
    assert sim.stats.calls("batch.ogiZ0b", account="u@x", with_token=True) == 1


@pytest.mark.parametrize(
    "mutation", ["no_cookie", "stale_at", "other_account_at", "no_same_domain", "rpcid_mismatch"]
)
async def test_session_checks(page: Page, client: TestClient, sim: Simulator, mutation: str) -> None:
    inner = rpc.image_generate(image_request(), page.project, SETTINGS)
    token = await page.mint()
    if mutation == "no_cookie":
        page.st = "nobody"
        resp = await page.call("ogiZ0b", inner, token=token)
    elif mutation == "stale_at":
        sim.rotate_page_session("st-u")
        resp = await page.call("ogiZ0b", inner, token=token)
    elif mutation == "other_account_at":
        other = Page(client, sim, "st-p")
        await other.load()
        resp = await page.call("ogiZ0b", inner, token=token, at=other.wiz["SNlM0e"])
    elif mutation == "no_same_domain":
        resp = await page.call("ogiZ0b", inner, token=token, headers={"x-same-domain": "0"})
    else:
        resp = await page.client.post(
            ENDPOINT_PATH,
            params={"rpcids": "jwpduf", "f.sid": page.wiz["FdrFJe"]},
            data={"f.req": encode_freq("ogiZ0b", inner), "at": page.wiz["SNlM0e"]},
            headers={**page.cookies, "x-same-domain": "1"},
        )
    expected = {"other_account_at": 400, "no_same_domain": 400, "rpcid_mismatch": 400}.get(mutation, 401)
    assert resp.status == expected


@pytest.mark.parametrize("token_kind", ["none", "replayed", "video"])
async def test_token_refusals_are_unusual_activity(page: Page, token_kind: str) -> None:
    inner = rpc.image_generate(image_request(), page.project, SETTINGS)
    token: str | None = None
    if token_kind == "replayed":
        token = await page.mint()
        await page.call("ogiZ0b", inner, token=token)
    elif token_kind == "video":
        token = await page.mint("VIDEO_GENERATION")
    reply = await page.call("ogiZ0b", inner, token=token)
    with pytest.raises(up.UpstreamCaptchaError):
        parse_reply(await reply.text(), "ogiZ0b", endpoint="ogiZ0b")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("rate_limited", up.UpstreamRateLimitedError),
        ("unsafe", up.UpstreamContentRejectedError),
        ("quota", up.UpstreamQuotaError),
        ("unauthenticated", up.UpstreamAuthError),
    ],
)
async def test_faults_become_frames_the_codec_reads(
    page: Page, sim: Simulator, kind: str, expected: type[Exception]
) -> None:
    sim.faults.add(route="batch.ogiZ0b", kind=kind, count=1)
    with pytest.raises(expected):
        await call(
            page, "ogiZ0b", rpc.image_generate(image_request(), page.project, SETTINGS), "IMAGE_GENERATION"
        )


async def test_bad_slots_and_foreign_media(page: Page) -> None:
    bad_aspect = rpc.image_generate(image_request(), page.project, SETTINGS)
    bad_aspect[1][0][4] = 9  # type: ignore[index]
    with pytest.raises(up.UpstreamInvalidRequestError):
        await call(page, "ogiZ0b", bad_aspect, "IMAGE_GENERATION")
    foreign = image_request("GEM_PIX_2", 1, UpstreamMedia("not-mine", page.project))
    with pytest.raises(up.UpstreamNotFoundError):
        await call(page, "ogiZ0b", rpc.image_generate(foreign, page.project, SETTINGS), "IMAGE_GENERATION")


async def test_text_to_video_poll_links_and_mp4(page: Page, client: TestClient, clock: Clock) -> None:
    job = await submitted(page, bv.VideoRequest("a pig flying", "veo_3_1_t2v_lite", Aspect.LANDSCAPE))
    assert job.workflow and job.workflow != job.name  # a generation id of its own
    assert await state(page, job) is JobState.PENDING
    clock.advance(DURATION / 2)
    assert await state(page, job) is JobState.RUNNING
    assert bv.parse_video_links(await call(page, "as29s", bv.media_record(job.name))) is None
    clock.advance(DURATION)
    assert await state(page, job) is JobState.SUCCEEDED
    record = await call(page, "as29s", bv.media_record(job.name))
    assert bv.workflow_of(record) == job.workflow
    links = bv.parse_video_links(record)
    assert links is not None and links.poster is not None
    mp4 = await (await client.get(links.video.split(str(client.make_url("")))[-1])).read()
    assert mp4[4:8] == b"ftyp"
    assert record[5][13] == len(mp4)  # type: ignore[index]


async def test_frames_and_references_are_accepted(page: Page) -> None:
    frame = (await uploaded(page)).name
    for request in (
        bv.VideoRequest("p", "veo_3_1_i2v_s_fast_ultra", Aspect.LANDSCAPE, start=frame),
        bv.VideoRequest("p", "veo_3_1_i2v_s_fast_portrait_ultra_fl", Aspect.PORTRAIT, start=frame, end=frame),
        bv.VideoRequest("p", "veo_3_1_r2v_fast_landscape_ultra", Aspect.LANDSCAPE, references=(frame, frame)),
        bv.VideoRequest("p", "abra_r2v_8s", Aspect.PORTRAIT, references=(frame,) * 7),
    ):
        assert (await submitted(page, request)).name


async def test_failed_video_reads_as_failed_with_its_reason(page: Page, sim: Simulator, clock: Clock) -> None:
    sim.faults.add(route="batch.YhhmEf", kind="video_failed", reason="PUBLIC_ERROR_SEXUAL")
    job = await submitted(page, bv.VideoRequest("p", "veo_3_1_t2v_lite", Aspect.LANDSCAPE))
    clock.advance(DURATION)
    (status,) = bv.parse_video_poll(await call(page, "jwpduf", bv.poll([job.name])), [job])
    assert (status.state, status.reason) == (JobState.FAILED, "PUBLIC_ERROR_SEXUAL")


async def test_upscale_and_extend_through_the_codec(page: Page, clock: Clock) -> None:
    job = await submitted(page, bv.VideoRequest("p", "veo_3_1_t2v_lite", Aspect.LANDSCAPE))
    clock.advance(DURATION)
    inner = bv.video_upscale(job, 2, Aspect.LANDSCAPE, SETTINGS, key="veo_3_1_upsampler_1080p")
    upscaled = bv.parse_video_submit(await call(page, "p0UkFb", inner, "VIDEO_GENERATION"), page.project)
    assert upscaled.name == f"{job.name}_upsampled"
    request = bv.ExtendRequest(job.name, 8, "more", "veo_3_1_extension_lite", Aspect.LANDSCAPE)
    extend = bv.video_extend(request, page.project, SETTINGS)
    extended = bv.parse_video_submit(await call(page, "fZytfe", extend, "VIDEO_GENERATION"), page.project)
    clock.advance(DURATION)
    statuses = bv.parse_video_poll(
        await call(page, "jwpduf", bv.poll([upscaled.name, extended.name])), [upscaled, extended]
    )
    assert [s.state for s in statuses] == [JobState.SUCCEEDED, JobState.SUCCEEDED]
