"""Google's dialect end to end: the unmodified ``google-genai`` SDK (Gemini API and Vertex AI express
mode) against the gateway against the Flow simulator; Google's error shape; per-licence isolation."""

from __future__ import annotations

import asyncio
import base64
import io
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from google import genai
from google.genai import errors, types
from PIL import Image

from gateway import keys
from gateway.config import Settings
from gateway.domain import TaskRecord
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
MODES = ["gemini_api", "vertex_express"]
pytestmark = [
    pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning"),  # generate_images
    # The SDK's async client subclasses aiohttp's ClientSession, which aiohttp discourages.
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
]


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


class Sdks:
    """``google-genai`` clients of the test gateway, closed at the end."""

    def __init__(self, gateway: TestServer) -> None:
        self.base = str(gateway.make_url("/gemini"))
        self.made: list[genai.Client] = []

    def client(self, key: str, mode: str = "gemini_api") -> genai.Client:
        options = types.HttpOptions(base_url=self.base)
        client = genai.Client(api_key=key, http_options=options, vertexai=mode == "vertex_express")
        self.made.append(client)
        return client


@pytest.fixture
async def sdks(gateway: TestServer) -> AsyncIterator[Sdks]:
    made = Sdks(gateway)
    yield made
    for client in made.made:
        await client.aio.aclose()


def finished(gateway: TestServer) -> Callable[[str], asyncio.Event]:
    """An event per task id, set when the engine finishes that task (no polling to wait on)."""
    events: dict[str, asyncio.Event] = {}

    def told(record: TaskRecord) -> None:
        events.setdefault(record.id, asyncio.Event()).set()

    gateway.app[keys.TASKS].on_finished(told)
    return lambda task_id: events.setdefault(task_id, asyncio.Event())


def decoded(data: bytes | None) -> Image.Image:
    assert data
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 30, 30)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("mode", MODES)
async def test_generate_content_answers_inline_images(sdks: Sdks, licence_key: str, mode: str) -> None:
    client = sdks.client(licence_key, mode)
    config = types.GenerateContentConfig(
        candidate_count=2, image_config=types.ImageConfig(aspect_ratio="16:9")
    )
    response = await client.aio.models.generate_content(
        model="gemini-2.5-flash-image", contents="a cat on a windowsill", config=config
    )
    assert response.candidates is not None and len(response.candidates) == 2
    for candidate in response.candidates:
        assert candidate.content is not None and candidate.content.parts
        inline = candidate.content.parts[0].inline_data
        assert inline is not None and (inline.mime_type or "").startswith("image/")
        image = decoded(inline.data)
        assert image.width > image.height


@pytest.mark.parametrize("mode", MODES)
async def test_generate_content_stream_and_an_image_input(
    sdks: Sdks, licence_key: str, mode: str, simulator: SimHandle
) -> None:
    client = sdks.client(licence_key, mode)
    contents = [types.Part.from_bytes(data=jpeg(), mime_type="image/jpeg"), "make it blue"]
    chunks = [
        chunk
        async for chunk in await client.aio.models.generate_content_stream(
            model="gemini-3-pro-image-preview", contents=contents
        )
    ]
    images = [
        part.inline_data.data
        for chunk in chunks
        for candidate in chunk.candidates or []
        for part in (candidate.content.parts if candidate.content else None) or []
        if part.inline_data is not None
    ]
    assert len(images) == 1
    square = decoded(images[0])
    assert square.width == square.height  # Google's default aspect for its image models
    assert simulator.sim.stats.calls("upload") == 1


async def test_generate_images_with_imagen_in_vertex_mode(sdks: Sdks, licence_key: str) -> None:
    client = sdks.client(licence_key, "vertex_express")
    response = await client.aio.models.generate_images(
        model="imagen-4.0-generate-001",
        prompt="a fox in the snow",
        config=types.GenerateImagesConfig(number_of_images=2, aspect_ratio="16:9"),
    )
    assert response.generated_images is not None and len(response.generated_images) == 2
    for generated in response.generated_images:
        assert generated.image is not None
        image = decoded(generated.image.image_bytes)
        assert image.width > image.height


async def test_generate_videos_then_get_the_operation_in_vertex_mode(
    sdks: Sdks, licence_key: str, gateway: TestServer, simulator: SimHandle
) -> None:
    done = finished(gateway)
    client = sdks.client(licence_key, "vertex_express")
    operation = await client.aio.models.generate_videos(
        model="veo-3.1-fast-generate-preview",
        source=types.GenerateVideosSource(
            prompt="the cat walks", image=types.Image(image_bytes=jpeg(), mime_type="image/jpeg")
        ),
        config=types.GenerateVideosConfig(duration_seconds=8, resolution="720p"),
    )
    assert operation.name is not None and not operation.done
    prefix, _, task_id = operation.name.rpartition("/operations/")
    assert prefix == "publishers/google/models/veo-3.1-fast-generate-preview"
    await asyncio.wait_for(done(task_id).wait(), timeout=30)
    operation = await client.aio.operations.get(operation)
    assert operation.done and operation.error is None
    assert operation.response is not None and operation.response.generated_videos
    video = operation.response.generated_videos[0].video
    assert video is not None and video.video_bytes is not None
    assert video.video_bytes[4:8] == b"ftyp" and video.mime_type == "video/mp4"
    assert simulator.sim.stats.calls("video.submit", with_token=True) == 1
    assert simulator.sim.stats.calls("upload") == 1
    # The same task as an OpenAI video: one engine, one set of tasks (a first frame, landscape).
    status, body = await raw(
        gateway, "GET", f"/flow/v1/videos/{task_id}", headers={"Authorization": f"Bearer {licence_key}"}
    )
    assert (status, body["status"], body["size"]) == (200, "completed", "1280x720")


async def test_gemini_api_video_by_rest_then_the_sdk_polls_and_downloads(
    sdks: Sdks, licence_key: str, gateway: TestServer
) -> None:
    done = finished(gateway)
    url = gateway.make_url("/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning")
    body = {"instances": [{"prompt": "a lighthouse"}], "parameters": {"aspectRatio": "9:16"}}
    async with ClientSession() as http, http.post(url, json=body, params={"key": licence_key}) as response:
        assert response.status == 200, await response.text()
        started = await response.json()
    assert started["done"] is False
    name = started["name"]
    assert name.startswith("models/veo-3.1-fast-generate-preview/operations/video_")
    await asyncio.wait_for(done(name.rpartition("/")[2]).wait(), timeout=30)
    client = sdks.client(licence_key, "gemini_api")
    operation = await client.aio.operations.get(types.GenerateVideosOperation(name=name))
    assert operation.done and operation.response and operation.response.generated_videos
    video = operation.response.generated_videos[0].video
    assert video is not None and video.uri is not None and "/files/" in video.uri
    data = await client.aio.files.download(file=video)  # the SDK sends a plain-http URI back whole
    assert data[4:8] == b"ftyp"
    async with (
        ClientSession(headers={"x-goog-api-key": licence_key}) as http,
        http.get(video.uri) as response,
    ):
        assert response.status == 200 and (await response.read())[4:8] == b"ftyp"  # the docs' curl -L


@pytest.mark.parametrize("mode", MODES)
async def test_a_wrong_key_is_googles_401(sdks: Sdks, mode: str) -> None:
    client = sdks.client("sk-flow-not-a-licence-of-this-gateway", mode)
    with pytest.raises(errors.ClientError) as info:
        await client.aio.models.generate_content(model="gemini-2.5-flash-image", contents="a cat")
    assert (info.value.code, info.value.status) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_model_is_googles_404(
    sdks: Sdks, licence_key: str, mode: str, simulator: SimHandle
) -> None:
    client = sdks.client(licence_key, mode)
    with pytest.raises(errors.ClientError) as info:
        await client.aio.models.generate_content(model="gemini-9-imaginary-image", contents="a cat")
    assert (info.value.code, info.value.status) == (404, "NOT_FOUND")
    assert simulator.sim.stats.calls("images.generate") == 0


async def test_what_flow_cannot_honour_is_refused_before_anything_is_spent(
    sdks: Sdks, licence_key: str, simulator: SimHandle
) -> None:
    client = sdks.client(licence_key, "vertex_express")
    with pytest.raises(errors.ClientError) as info:
        await client.aio.models.generate_videos(
            model="veo-3.1-generate-preview",
            source=types.GenerateVideosSource(prompt="a fox"),
            config=types.GenerateVideosConfig(negative_prompt="dogs"),
        )
    assert (info.value.code, info.value.status) == (400, "INVALID_ARGUMENT")
    assert (
        info.value.details["error"]["details"][1]["fieldViolations"][0]["field"]
        == "parameters.negativePrompt"
    )
    with pytest.raises(errors.ClientError) as sized:
        await client.aio.models.generate_images(
            model="imagen-4.0-generate-001",
            prompt="a fox",
            config=types.GenerateImagesConfig(aspect_ratio="1:1"),
        )
    assert (
        sized.value.details["error"]["details"][1]["fieldViolations"][0]["field"] == "parameters.aspectRatio"
    )
    stats = simulator.sim.stats
    assert stats.calls("video.submit") == stats.calls("images.generate") == stats.calls("upload") == 0


async def test_one_licence_never_sees_anothers_operations_or_files(
    sdks: Sdks, licence_key: str, gateway: TestServer
) -> None:
    done = finished(gateway)
    mine = sdks.client(licence_key, "vertex_express")
    operation = await mine.aio.models.generate_videos(
        model="veo_3_1-fast", source=types.GenerateVideosSource(prompt="a fox")
    )
    assert operation.name is not None
    task_id = operation.name.rpartition("/")[2]
    await asyncio.wait_for(done(task_id).wait(), timeout=30)
    theirs = sdks.client(OTHER_KEY, "vertex_express")
    with pytest.raises(errors.ClientError) as info:
        await theirs.aio.operations.get(operation)
    assert (info.value.code, info.value.status) == (404, "NOT_FOUND")
    theirs_dev = sdks.client(OTHER_KEY, "gemini_api")
    with pytest.raises(errors.ClientError) as dev:
        await theirs_dev.aio.operations.get(
            types.GenerateVideosOperation(name=f"models/veo_3_1/operations/{task_id}")
        )
    assert dev.value.code == 404
    file_id = task_id.replace("_", "")
    with pytest.raises(errors.ClientError) as download:
        await theirs_dev.aio.files.download(file=f"files/{file_id}")
    assert download.value.code == 404
    assert await sdks.client(licence_key, "gemini_api").aio.files.download(file=f"files/{file_id}")


@pytest.mark.parametrize("mode", MODES)
async def test_models_lists_googles_names_the_pool_can_serve(sdks: Sdks, licence_key: str, mode: str) -> None:
    client = sdks.client(licence_key, mode)
    names = {m.name async for m in await client.aio.models.list()}
    prefix = "publishers/google/models/" if mode == "vertex_express" else "models/"
    assert {prefix + "gemini-2.5-flash-image", prefix + "veo-3.1-generate-preview"} <= names
    ours = await client.aio.models.get(model="veo_3_1")
    assert ours.name is not None and ours.name.endswith("veo_3_1")


async def raw(gateway: TestServer, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with ClientSession() as http, http.request(method, gateway.make_url(path), **kwargs) as response:
        return response.status, await response.json()


async def test_every_error_under_googles_prefixes_is_in_googles_shape(
    gateway: TestServer, licence_key: str
) -> None:
    key = {"x-goog-api-key": licence_key}
    status, body = await raw(gateway, "GET", "/gemini/v1beta/nothing/here", headers=key)
    assert (status, body["error"]["status"], body["error"]["code"]) == (404, "NOT_FOUND", 404)
    status, body = await raw(gateway, "DELETE", "/v1beta/models", headers=key)
    assert (status, body["error"]["status"]) == (405, "UNIMPLEMENTED")
    status, body = await raw(gateway, "GET", "/v1beta1/publishers/google/models")
    assert (status, body["error"]["status"]) == (401, "UNAUTHENTICATED")
    status, body = await raw(
        gateway,
        "POST",
        "/gemini/v1beta/models/gemini-2.5-flash-image:generateContent",
        headers=key,
        data=b"{not json",
    )
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")
    status, body = await raw(gateway, "GET", "/gemini/v1beta/models", params={"key": licence_key})
    assert status == 200 and body["models"]
    # The OpenAI routes keep their shape, and take no key from the query.
    status, body = await raw(gateway, "GET", "/v1/models", params={"key": licence_key})
    assert (status, body["error"]["code"]) == (401, "invalid_api_key")


async def test_the_curl_of_googles_docs_finds_the_image(gateway: TestServer, licence_key: str) -> None:
    """Google's docs pipe the answer through ``grep -o '"data": "[^"]*"'``: the answer is indented as
    Google's is, so that finds the image."""
    body = {"contents": [{"parts": [{"text": "Create a picture of a nano banana dish"}]}]}
    url = gateway.make_url("/v1beta/models/gemini-2.5-flash-image:generateContent")
    async with (
        ClientSession() as http,
        http.post(url, json=body, headers={"x-goog-api-key": licence_key}) as response,
    ):
        assert response.status == 200
        text = await response.text()
    (found,) = re.findall(r'"data": "([^"]*)"', text)
    assert decoded(base64.b64decode(found)).width > 0
