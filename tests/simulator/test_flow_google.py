"""The simulator's flow.google.com: project page, in-page token minting, batchexecute with its checks.

Driven the way a browser worker drives it: load the project page, read WIZ_global_data, mint a
token through the page's grecaptcha, substitute it into the f.req the gateway's codec built, POST.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import BatchSettings
from gateway.domain import Aspect, ImageData, ImageResolution, UpstreamMedia
from gateway.simulator import Simulator
from gateway.upstream.flow import batch_rpcs as rpc
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.batch import CAPTCHA_PLACEHOLDER, ENDPOINT_PATH, encode_freq, parse_reply
from gateway.upstream.flow.transport import ImageGenerationRequest

SETTINGS = BatchSettings()
UA = "Mozilla/5.0 TestChrome"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


class Page:
    """One signed-in flow.google.com tab, emulated."""

    def __init__(self, client: TestClient, sim: Simulator, session_token: str = "st-u") -> None:
        self.client, self.st = client, session_token
        self.project = sim.project_of(session_token)
        self.wiz: dict[str, str] = {}

    @property
    def cookies(self) -> dict[str, str]:
        return {"Cookie": f"__Secure-1PSID={self.st}", "User-Agent": UA}

    async def load(self) -> None:
        html = await (await self.client.get(f"/project/{self.project}", headers=self.cookies)).text()
        match = re.search(r"window.WIZ_global_data = (\{.*?\});", html)
        assert match
        self.wiz = json.loads(match.group(1))

    async def mint(self, action: str = "IMAGE_GENERATION") -> str:
        resp = await self.client.post(
            "/recaptcha/enterprise/mint",
            headers=self.cookies,
            json={"siteKey": "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV", "action": action},
        )
        return str((await resp.json())["token"])

    async def call(
        self,
        rpcid: str,
        inner: object,
        *,
        token: str | None = None,
        at: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        freq = encode_freq(rpcid, inner)
        if token is not None:
            freq = freq.replace(CAPTCHA_PLACEHOLDER, token)
        query = {
            "rpcids": rpcid,
            "source-path": f"/project/{self.project}",
            "bl": self.wiz["cfb2h"],
            "f.sid": self.wiz["FdrFJe"],
            "hl": "en",
            "_reqid": "123456",
            "rt": "c",
        }
        return await self.client.post(
            ENDPOINT_PATH,
            params=query,
            data={"f.req": freq, "at": at or self.wiz["SNlM0e"]},
            headers={**self.cookies, "x-same-domain": "1", **(headers or {})},
        )


@pytest.fixture
async def page(client: TestClient, sim: Simulator) -> Page:
    tab = Page(client, sim)
    await tab.load()
    return tab


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
    upload = await page.call(
        "maseQ",
        rpc.upload(ImageData(PNG, "image/png"), page.project, "a.png", SETTINGS),
        token=await page.mint(),
    )
    media = rpc.parse_upload(parse_reply(await upload.text(), "maseQ", endpoint="maseQ"), page.project)
    request = ImageGenerationRequest("GEM_PIX_2", "a fox", Aspect.LANDSCAPE, 7, (media,))
    reply = await page.call(
        "ogiZ0b", rpc.image_generate(request, page.project, SETTINGS), token=await page.mint()
    )
    assert reply.status == 200
    assert (await reply.text()).startswith(")]}'")
    (image,) = rpc.parse_image_generate(
        parse_reply(await reply.text(), "ogiZ0b", endpoint="ogiZ0b"), page.project
    )
    assert image.url is not None and "/image/" in image.url
    big = await page.call(
        "SPrCad", rpc.image_upscale(image.media, ImageResolution.R4K, SETTINGS), token=await page.mint()
    )
    assert (
        rpc.parse_image_upscale(parse_reply(await big.text(), "SPrCad", endpoint="SPrCad"))[:3]
        == b"\xff\xd8\xff"
    )
    assert sim.stats.calls("batch.ogiZ0b", account="u@x", with_token=True) == 1


@pytest.mark.parametrize(
    ("mutation", "status"),
    [
        ("no_cookie", 401),
        ("stale_at", 401),
        ("other_account_at", 400),
        ("no_same_domain", 400),
        ("rpcid_mismatch", 400),
    ],
)
async def test_session_checks(
    page: Page, client: TestClient, sim: Simulator, mutation: str, status: int
) -> None:
    inner = rpc.image_generate(
        ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1), page.project, SETTINGS
    )
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
    assert resp.status == status


@pytest.mark.parametrize(
    ("token_kind", "expected"),
    [
        ("none", up.UpstreamCaptchaError),
        ("replayed", up.UpstreamCaptchaError),
        ("video", up.UpstreamCaptchaError),
    ],
)
async def test_token_refusals_are_unusual_activity(
    page: Page, token_kind: str, expected: type[Exception]
) -> None:
    inner = rpc.image_generate(
        ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1), page.project, SETTINGS
    )
    token: str | None = None
    if token_kind == "replayed":
        token = await page.mint()
        await page.call("ogiZ0b", inner, token=token)
    elif token_kind == "video":
        token = await page.mint("VIDEO_GENERATION")
    reply = await page.call("ogiZ0b", inner, token=token)
    with pytest.raises(expected):
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
async def test_faults_become_frames(page: Page, sim: Simulator, kind: str, expected: type[Exception]) -> None:
    sim.faults.add(route="batch.ogiZ0b", kind=kind, count=1)
    inner = rpc.image_generate(
        ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1), page.project, SETTINGS
    )
    reply = await page.call("ogiZ0b", inner, token=await page.mint())
    with pytest.raises(expected):
        parse_reply(await reply.text(), "ogiZ0b", endpoint="ogiZ0b")


async def test_bad_slots_and_foreign_media(page: Page) -> None:
    bad_aspect = rpc.image_generate(
        ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1), page.project, SETTINGS
    )
    bad_aspect[1][0][4] = 9  # type: ignore[index]
    with pytest.raises(up.UpstreamInvalidRequestError):
        parse_reply(
            await (await page.call("ogiZ0b", bad_aspect, token=await page.mint())).text(),
            "ogiZ0b",
            endpoint="ogiZ0b",
        )
    foreign = ImageGenerationRequest(
        "NARWHAL", "x", Aspect.SQUARE, 1, (UpstreamMedia("not-mine", page.project),)
    )
    reply = await page.call(
        "ogiZ0b", rpc.image_generate(foreign, page.project, SETTINGS), token=await page.mint()
    )
    with pytest.raises(up.UpstreamNotFoundError):
        parse_reply(await reply.text(), "ogiZ0b", endpoint="ogiZ0b")


def status_of(record: list[Any]) -> list[Any]:
    return record[5][8]  # type: ignore[no-any-return]


async def submit_video(page: Page, request: rpc.VideoRequest) -> str:
    rpcid, inner = rpc.video_submit(request, page.project, SETTINGS)
    reply = await page.call(rpcid, inner, token=await page.mint("VIDEO_GENERATION"))
    payload = parse_reply(await reply.text(), rpcid, endpoint=rpcid)
    record = payload[3][0][0]  # type: ignore[index]
    assert status_of(record) == [6]
    return str(record[0])


async def wait_done(page: Page, media_id: str) -> list[Any]:
    seen = []
    for _ in range(40):
        reply = await page.call("jwpduf", rpc.poll([media_id]))
        (record,) = parse_reply(await reply.text(), "jwpduf", endpoint="jwpduf")[0]  # type: ignore[index]
        seen.append(status_of(record)[0])
        if status_of(record)[0] in (3, 4):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(seen)


async def test_text_to_video_poll_record_and_mp4(page: Page, client: TestClient) -> None:
    media_id = await submit_video(
        page, rpc.VideoRequest("a pig flying", "veo_3_1_t2v_fast", Aspect.LANDSCAPE)
    )
    not_yet = await page.call("as29s", rpc.media_record(media_id))
    with pytest.raises(up.UpstreamNotFoundError):
        parse_reply(await not_yet.text(), "as29s", endpoint="as29s")
    seen = await wait_done(page, media_id)
    assert 2 in seen and seen[-1] == 3
    record = parse_reply(
        await (await page.call("as29s", rpc.media_record(media_id))).text(), "as29s", endpoint="as29s"
    )
    url = rpc.video_url(record)
    assert url is not None
    mp4 = await (await client.get(url.split(str(client.make_url("")))[-1])).read()
    assert mp4[4:8] == b"ftyp"
    assert record[0][5][13] == len(mp4)  # type: ignore[index]


async def test_frames_references_and_refusals(page: Page) -> None:
    upload = await page.call(
        "maseQ",
        rpc.upload(ImageData(PNG, "image/png"), page.project, "a.png", SETTINGS),
        token=await page.mint(),
    )
    frame = rpc.parse_upload(parse_reply(await upload.text(), "maseQ", endpoint="maseQ"), page.project).name
    for request in (
        rpc.VideoRequest("p", "veo_3_1_i2v_s_fast", Aspect.PORTRAIT, start=frame),
        rpc.VideoRequest("p", "veo_3_1_i2v_s_fast", Aspect.PORTRAIT, start=frame, end=frame),
        rpc.VideoRequest("p", "veo_3_1_r2v_fast", Aspect.LANDSCAPE, references=(frame, frame)),
    ):
        await submit_video(page, request)
    for bad in (
        rpc.VideoRequest("p", "veo_3_1_t2v_fast_portrait", Aspect.PORTRAIT),
        rpc.VideoRequest("p", "veo_3_1_r2v_fast", Aspect.LANDSCAPE, references=(frame,) * 4),
        rpc.VideoRequest("p", "veo_3_1_i2v_s_fast", Aspect.PORTRAIT, start="not-mine"),
    ):
        rpcid, inner = rpc.video_submit(bad, page.project, SETTINGS)
        reply = await page.call(rpcid, inner, token=await page.mint("VIDEO_GENERATION"))
        with pytest.raises((up.UpstreamInvalidRequestError, up.UpstreamNotFoundError)):
            parse_reply(await reply.text(), rpcid, endpoint=rpcid)


async def test_failed_video_and_upscale_and_extend(page: Page, sim: Simulator) -> None:
    sim.faults.add(route="batch.YhhmEf", kind="video_failed", count=1)
    failed = await submit_video(page, rpc.VideoRequest("p", "veo_3_1_t2v_fast", Aspect.LANDSCAPE))
    assert (await wait_done(page, failed))[-1] == 4
    done = await submit_video(page, rpc.VideoRequest("p", "veo_3_1_t2v_fast", Aspect.LANDSCAPE))
    await wait_done(page, done)
    upscale = await page.call(
        "p0UkFb",
        rpc.video_upscale(done, "G", Aspect.LANDSCAPE, SETTINGS),
        token=await page.mint("VIDEO_GENERATION"),
    )
    created = parse_reply(await upscale.text(), "p0UkFb", endpoint="p0UkFb")
    assert created[3][0][0][0] == f"{done}_upsampled"  # type: ignore[index]
    extend = rpc.video_extend(
        rpc.ExtendRequest(done, 8, "S", "more", "veo_3_1_extend", Aspect.LANDSCAPE), page.project, SETTINGS
    )
    reply = await page.call("fZytfe", extend, token=await page.mint("VIDEO_GENERATION"))
    assert status_of(parse_reply(await reply.text(), "fZytfe", endpoint="fZytfe")[3][0][0]) == [6]  # type: ignore[index]
