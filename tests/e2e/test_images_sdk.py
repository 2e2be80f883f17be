"""End to end: the official openai SDK against the gateway against the Flow simulator."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Callable

import openai
import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from PIL import Image

from gateway.config import Settings
from tests.conftest import ServerFactory, SimHandle


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory, settings: Settings, app_factory: Callable[[Settings], web.Application]
) -> TestServer:
    return await aiohttp_server(app_factory(settings))


@pytest.fixture
async def client(gateway: TestServer, licence_key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=str(gateway.make_url("/flow/v1")), api_key=licence_key, max_retries=0
    ) as sdk:
        yield sdk


def decode(b64: str | None) -> Image.Image:
    assert b64
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


async def test_generate_default_is_one_portrait_b64_image(client: openai.AsyncOpenAI) -> None:
    result = await client.images.generate(model="nano_banana", prompt="a cat")
    assert result.data is not None
    assert len(result.data) == 1
    image = decode(result.data[0].b64_json)
    assert image.height > image.width


async def test_pro_4k_landscape_n2_upsamples_each(client: openai.AsyncOpenAI, simulator: SimHandle) -> None:
    result = await client.images.generate(model="nano_banana_pro-4K-landscape", prompt="a fox", n=2)
    assert result.data is not None
    images = [decode(d.b64_json) for d in result.data]
    assert len(images) == 2
    assert all(i.width > i.height for i in images)
    stats = simulator.sim.stats
    assert stats.calls("images.generate", with_token=True) == 2
    assert stats.calls("images.upsample", with_token=True) == 2


async def test_edit_with_files_uploads_and_references(
    client: openai.AsyncOpenAI, simulator: SimHandle
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, format="PNG")
    png = buf.getvalue()
    result = await client.images.edit(
        model="nano_banana-square",
        prompt="make it blue",
        image=[("a.png", png, "image/png"), ("b.png", png, "image/png")],
    )
    assert result.data is not None
    image = decode(result.data[0].b64_json)
    assert image.width == image.height
    assert simulator.sim.stats.calls("upload") == 1  # the same bytes twice: uploaded once per account


async def test_url_response_is_served_without_licence(
    client: openai.AsyncOpenAI, gateway: TestServer
) -> None:
    result = await client.images.generate(model="imagen_4-landscape", prompt="a boat", response_format="url")
    assert result.data is not None
    url = result.data[0].url
    assert url
    async with ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert resp.content_type == "image/jpeg"
        body = await resp.read()
    async with ClientSession() as http, http.get(url.split("?")[0]) as resp:
        assert resp.status == 401  # unsigned: the licence is required again
    assert Image.open(io.BytesIO(body)).width > 0


async def test_result_id_is_reused_as_input(
    client: openai.AsyncOpenAI, gateway: TestServer, simulator: SimHandle
) -> None:
    first = await client.images.generate(model="nano_banana", prompt="a cat", response_format="url")
    assert first.data is not None and first.data[0].url
    media_id = first.data[0].url.split("/v1/media/")[1].split("?")[0]
    second = await client.images.edit(
        model="nano_banana", prompt="blue", image=[], extra_body={"image": media_id}
    )
    assert second.data is not None
    assert simulator.sim.stats.calls("images.generate") == 2


@pytest.mark.parametrize(
    ("kwargs", "exc", "param"),
    [
        ({"model": "no_such_model"}, openai.NotFoundError, "model"),
        ({"model": "imagen_4-4K"}, openai.BadRequestError, "model"),
        ({"model": "nano_banana", "n": 5}, openai.BadRequestError, "n"),
        ({"model": "veo_3_1"}, openai.BadRequestError, "model"),
        ({"model": "nano_banana", "size": "huge"}, openai.BadRequestError, "size"),
    ],
)
async def test_sdk_errors(
    client: openai.AsyncOpenAI, kwargs: dict[str, object], exc: type[openai.APIStatusError], param: str
) -> None:
    with pytest.raises(exc) as info:
        await client.images.generate(prompt="x", **kwargs)  # type: ignore[arg-type]
    body = info.value.body
    assert isinstance(body, dict)
    assert body["param"] == param
    assert info.value.response.headers["x-request-id"]


async def test_missing_and_wrong_licence(gateway: TestServer) -> None:
    base = str(gateway.make_url("/flow/v1"))
    async with openai.AsyncOpenAI(base_url=base, api_key="sk-flow-wrong", max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError) as info:
            await sdk.images.generate(model="nano_banana", prompt="x")
    assert info.value.code == "invalid_api_key"
    assert "sk-flow-wrong" not in info.value.message
