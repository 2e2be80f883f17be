"""Videos end to end with the official openai SDK: create_and_poll, download, list, delete, remix."""

from __future__ import annotations

import io
import warnings
from collections.abc import AsyncIterator, Callable

import openai
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from gateway.config import Settings
from gateway.licensing import hash_key
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, ServerFactory, SimHandle

OTHER_KEY = "sk-flow-another-licence-of-this-gateway-0123456789"
OTHER_LICENCE = f'[[licences]]\nid = "lic-b"\nkey_sha256 = "{hash_key(OTHER_KEY)}"\n\n'
FAST_TASKS = {
    "GATEWAY_TASKS_POLL_INTERVAL": "0.1",
    "GATEWAY_TASKS_POLL_AFTER_MS": "50",
    "GATEWAY_TASKS_LINK_DELAY": "0.05",
}


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.4)


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory,
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    accounts_toml: str,
) -> TestServer:
    return await aiohttp_server(app_factory(settings_factory(FAST_TASKS, OTHER_LICENCE + accounts_toml)))


@pytest.fixture
async def client(gateway: TestServer, licence_key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's Sora deprecation notices
    async with openai.AsyncOpenAI(
        base_url=str(gateway.make_url("/flow/v1")), api_key=licence_key, max_retries=0
    ) as sdk:
        yield sdk


def jpeg(size: tuple[int, int] = (64, 36)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="JPEG")
    return buf.getvalue()


async def test_create_and_poll_then_download(client: openai.AsyncOpenAI, simulator: SimHandle) -> None:
    video = await client.videos.create_and_poll(model="veo_3_1-landscape-fast", prompt="a fox in snow")
    assert video.status == "completed", video.error
    assert (video.progress, video.size, video.seconds) == (100, "1280x720", "8")
    content = await client.videos.download_content(video.id)
    data = content.read()
    assert data[4:8] == b"ftyp"
    thumbnail = (await client.videos.download_content(video.id, variant="thumbnail")).read()
    assert thumbnail[:2] == b"\xff\xd8"
    assert simulator.sim.stats.calls("video.submit", with_token=True) == 1


async def test_create_with_a_file_reference_is_multipart(
    client: openai.AsyncOpenAI, simulator: SimHandle
) -> None:
    video = await client.videos.create_and_poll(
        model="veo_3_1-fast", prompt="the cat walks", input_reference=("cat.jpg", jpeg(), "image/jpeg")
    )
    assert video.status == "completed", video.error
    assert simulator.sim.stats.calls("upload") == 1
    assert simulator.sim.stats.calls("video.submit") == 1


async def test_list_delete_and_isolation(client: openai.AsyncOpenAI, gateway: TestServer) -> None:
    first = await client.videos.create(model="veo_3_1-fast", prompt="one")
    second = await client.videos.create(model="veo_3_1-fast", prompt="two")
    assert first.status == "queued"
    page = await client.videos.list(limit=1)
    assert [v.id for v in page.data] == [second.id]  # newest first
    assert page.has_more is True
    ids = [v.id async for v in client.videos.list(limit=1)]  # the SDK follows last_id as after
    assert ids[:2] == [second.id, first.id]
    deleted = await client.videos.delete(first.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        await client.videos.retrieve(first.id)
    other_key = "sk-flow-not-this-licence"
    async with openai.AsyncOpenAI(
        base_url=str(gateway.make_url("/v1")), api_key=other_key, max_retries=0
    ) as sdk:
        with pytest.raises(openai.AuthenticationError):
            await sdk.videos.retrieve(second.id)


async def test_remix_and_not_ready_content(client: openai.AsyncOpenAI, simulator: SimHandle) -> None:
    video = await client.videos.create(model="veo_3_1-fast", prompt="a lighthouse")
    with pytest.raises(openai.BadRequestError) as info:  # never 409: the SDK would retry that
        await client.videos.download_content(video.id)
    assert info.value.code == "video_not_ready"
    done = await client.videos.poll(video.id)
    assert done.status == "completed"
    remix = await client.videos.remix(done.id, prompt="the same lighthouse at night")
    assert remix.remixed_from_video_id == done.id
    finished = await client.videos.poll(remix.id)
    assert finished.status == "completed" and finished.prompt == "the same lighthouse at night"
    assert simulator.sim.stats.calls("video.submit") == 2
