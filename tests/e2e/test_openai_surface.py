"""The names and small mismatches of the OpenAI surface, with the official Python SDK where it reaches:
aliases (``gpt-image-1``, ``sora-2``), ready-made variants in ``/v1/models``, ``output_format``
``jpeg``, the video object's ``mode``, ``HEAD`` on content and media, and CORS for browser clients."""

from __future__ import annotations

import base64
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from gateway.config import Settings
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, ServerFactory, SimHandle
from tests.e2e.test_videos_followups import by_id
from tests.e2e.test_videos_http import FAST, b64_image

ORIGIN = "https://chat.example.com"
CORS = f'[server]\ncors_origins = ["{ORIGIN}"]\n\n'


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory,
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    accounts_toml: str,
) -> TestServer:
    # The accounts text ends the file, so a [server] table may go before the [[accounts]].
    return await aiohttp_server(app_factory(settings_factory(FAST, CORS + accounts_toml)))


@pytest.fixture
async def client(gateway: TestServer, licence_key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's Sora deprecation notices
    async with openai.AsyncOpenAI(
        base_url=str(gateway.make_url("/flow/v1")), api_key=licence_key, max_retries=0
    ) as sdk:
        yield sdk


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def test_openai_names_land_on_flow_models(client: openai.AsyncOpenAI) -> None:
    image = await client.images.generate(model="gpt-image-1", prompt="a fox", size="1536x1024")
    assert image.data is not None and image.data[0].b64_json
    video = await client.videos.create_and_poll(model="sora-2", prompt="a fox", size="1280x720", seconds="4")
    assert (video.status, video.size, video.seconds, video.model) == ("completed", "1280x720", "4", "sora-2")
    with pytest.raises(openai.BadRequestError) as info:  # Flow has no 12 s Veo: said, not changed
        await client.videos.create(model="sora-2-pro", prompt="a fox", seconds="12")
    assert info.value.param == "seconds"
    alias = await client.models.retrieve("dall-e-3")
    assert alias.model_extra is not None
    assert (alias.id, alias.model_extra["alias_of"], alias.model_extra["variant_of"]) == (
        "dall-e-3",
        "nano_banana_pro",
        "nano_banana_pro",
    )
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("gpt-5-image")


async def test_models_lists_ready_made_variants_with_what_they_need(client: openai.AsyncOpenAI) -> None:
    models = {m.id: m.model_extra or {} for m in (await client.models.list()).data}
    assert {"veo_3_1", "nano_banana_pro"} <= set(models)
    fast = models["veo_3_1-landscape-fast"]
    assert (fast["variant_of"], fast["tier"], fast["credits"], fast["available"]) == (
        "veo_3_1",
        "pro",
        20,
        True,
    )
    uhd = models["nano_banana_pro-landscape-4K"]
    assert (uhd["tier"], uhd["kind"]) == ("ultra", "image")  # the simulator's pool has Ultra accounts
    retrieved = await client.models.retrieve("veo_3_1-landscape-fast")
    assert retrieved.model_extra is not None and retrieved.model_extra["credits"] == 20


async def test_output_format_is_said_as_openai_says_it(client: openai.AsyncOpenAI) -> None:
    for asked in ("jpeg", "jpg"):
        result = await client.images.generate(model="nano_banana", prompt="a cat", output_format=asked)  # type: ignore[arg-type]
        assert result.data is not None and result.output_format == "jpeg"
        assert base64.b64decode(result.data[0].b64_json or "")[:2] == b"\xff\xd8"
    with pytest.raises(openai.BadRequestError) as info:
        await client.images.generate(model="nano_banana", prompt="a cat", output_format="gif")  # type: ignore[arg-type]
    assert info.value.param == "output_format"


async def test_the_video_object_says_which_mode_ran(client: openai.AsyncOpenAI) -> None:
    text = await client.videos.create(model="veo_3_1-fast", prompt="a fox")
    refs = await client.videos.create(
        model="veo_3_1-fast", prompt="a fox", extra_body={"input_reference": [b64_image()]}
    )
    frames = await client.videos.create(
        model="veo_3_1-fl-fast", prompt="a fox", extra_body={"input_reference": [b64_image(), b64_image()]}
    )
    modes = [(v.model_extra or {}).get("mode") for v in (text, refs, frames)]
    assert modes == ["text", "references", "frames"]
    listed = {v.id: (v.model_extra or {}).get("mode") for v in (await client.videos.list()).data}
    assert listed[frames.id] == "frames"
    for video in (text, refs, frames):
        assert (await client.videos.poll(video.id)).status == "completed"


async def test_rest_accounts_extend_and_refuse_edits_before_any_work(
    client: openai.AsyncOpenAI, simulator: SimHandle
) -> None:
    video = await client.videos.create_and_poll(model="veo_3_1-landscape-fast", prompt="a lighthouse")
    extension = await client.videos.extend(**by_id(video.id), prompt="and on", seconds="8")
    extended = await client.videos.poll(extension.id)
    assert (extended.status, extended.seconds, extended.remixed_from_video_id) == ("completed", "7", video.id)
    submits = simulator.sim.stats.calls("video.submit")
    with pytest.raises(openai.PermissionDeniedError) as info:  # the legacy REST hosts have no edit
        await client.videos.edit(**by_id(video.id), prompt="make it snow")
    assert info.value.code == "model_not_offered"
    assert simulator.sim.stats.calls("video.submit") == submits  # nothing was sent


async def test_head_on_content_and_media(
    client: openai.AsyncOpenAI, gateway: TestServer, http: ClientSession, licence_key: str
) -> None:
    auth = {"Authorization": f"Bearer {licence_key}"}
    video = await client.videos.create_and_poll(model="veo_3_1-fast", prompt="a fox")
    url = gateway.make_url(f"/flow/v1/videos/{video.id}/content")
    async with http.get(url, headers=auth) as got, http.head(url, headers=auth) as head:
        body = await got.read()
        assert (head.status, await head.read()) == (200, b"")
        for name in ("Content-Type", "Content-Length", "Accept-Ranges"):
            assert head.headers[name] == got.headers[name], name
        assert int(head.headers["Content-Length"]) == len(body)
    image = await client.images.generate(model="nano_banana", prompt="a cat", response_format="url")
    assert image.data is not None and image.data[0].url
    async with http.head(image.data[0].url) as signed:  # a signed URL needs no licence
        assert (signed.status, signed.headers["Content-Type"], await signed.read()) == (
            200,
            "image/jpeg",
            b"",
        )
    async with http.head(gateway.make_url("/flow/v1/videos/video_nope/content"), headers=auth) as missing:
        assert missing.status == 404


async def test_cors_preflight_before_auth_and_exposed_headers(
    gateway: TestServer, http: ClientSession, licence_key: str
) -> None:
    url = gateway.make_url("/flow/v1/videos")
    preflight: dict[str, Any] = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
    }
    async with http.options(url, headers=preflight) as resp:  # no licence: browsers send none here
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
        assert resp.headers["Access-Control-Allow-Headers"] == preflight["Access-Control-Request-Headers"]
    auth = {"Authorization": f"Bearer {licence_key}", "Origin": ORIGIN}
    async with http.post(url, json={"prompt": "a fox", "model": "veo_3_1-fast"}, headers=auth) as resp:
        assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"x-request-id", "openai-poll-after-ms", "retry-after"} <= exposed
        assert "Origin" in resp.headers["Vary"]
    async with http.get(url, headers={"Origin": ORIGIN}) as refused:  # errors are readable too
        assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    evil = {**preflight, "Origin": "https://evil.example"}
    async with http.options(url, headers=evil) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers
    async with http.get(url, headers={**auth, "Origin": "https://evil.example"}) as resp:
        assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers
