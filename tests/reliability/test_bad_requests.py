"""Scenario 8: malformed or invalid requests get a 400 (or 413) with an OpenAI error body naming the
right ``param``, and nothing goes upstream."""

from __future__ import annotations

import gzip
import io
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from tests.conftest import SimHandle
from tests.reliability.support import THREE, ClientWith, openai_error

UPSTREAM = ("images.generate", "upload", "video.submit", "captcha.create")
IMAGES, VIDEOS, EDITS = "/v1/images/generations", "/v1/videos", "/v1/images/edits"


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    return await client_with(env={"GATEWAY_SERVER_MAX_BODY_BYTES": str(256 * 1024)}, accounts=THREE)


def nothing_upstream(simulator: SimHandle) -> None:
    assert {route: simulator.sim.stats.calls(route) for route in UPSTREAM} == dict.fromkeys(UPSTREAM, 0)


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (IMAGES, {"model": "nano_banana", "prompt": "x", "colour": "red"}, "colour"),
        (IMAGES, {"model": "nano_banana", "prompt": "x", "n": "two"}, "n"),
        (IMAGES, {"model": "nano_banana", "prompt": "x", "n": 9}, "n"),
        (IMAGES, {"model": "nano_banana", "prompt": "x", "size": "huge"}, "size"),
        (IMAGES, {"model": "nano_banana", "prompt": 42}, "prompt"),
        (IMAGES, {"model": "nano_banana"}, "prompt"),
        (VIDEOS, {"model": "veo_3_1", "prompt": "x", "seconds": "5"}, "seconds"),
        (VIDEOS, {"model": "veo_3_1", "prompt": "x", "seconds": [8]}, "seconds"),
        (VIDEOS, {"model": "veo_3_1", "prompt": "x", "size": "1280x0"}, "size"),
        (VIDEOS, {"model": "veo_3_1", "prompt": "x", "speed": "warp"}, "speed"),
    ],
)
async def test_invalid_fields_name_their_param(
    http: TestClient,
    simulator: SimHandle,
    auth: dict[str, str],
    path: str,
    body: dict[str, Any],
    param: str,
) -> None:
    error = await openai_error(await http.post(path, json=body, headers=auth), 400)
    assert (error["type"], error["param"]) == ("invalid_request_error", param), error
    nothing_upstream(simulator)


@pytest.mark.parametrize("path", [IMAGES, VIDEOS, "/v1/chat/completions"])
async def test_malformed_json_is_a_400(
    http: TestClient, simulator: SimHandle, auth: dict[str, str], path: str
) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    resp = await http.post(path, data=b'{"model": "nano_banana", "prompt": "x",', headers=headers)
    error = await openai_error(resp, 400)
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "invalid_json", None)
    nothing_upstream(simulator)


async def test_malformed_multipart_is_a_400(
    http: TestClient, simulator: SimHandle, auth: dict[str, str]
) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na fox'  # never closed
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=xyz"}
    error = await openai_error(await http.post(EDITS, data=body, headers=headers), 400)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_multipart")
    nothing_upstream(simulator)


async def test_an_oversized_body_is_a_413(
    http: TestClient, simulator: SimHandle, auth: dict[str, str]
) -> None:
    body = {"model": "nano_banana", "prompt": "x" * (300 * 1024)}
    error = await openai_error(await http.post(IMAGES, json=body, headers=auth), 413)
    assert (error["type"], error["code"]) == ("invalid_request_error", "payload_too_large")
    nothing_upstream(simulator)


async def test_an_oversized_image_part_is_a_413_naming_it(
    http: TestClient, simulator: SimHandle, auth: dict[str, str]
) -> None:
    form = aiohttp.FormData()
    form.add_field("prompt", "x")
    form.add_field("image[]", png() + b"\0" * (300 * 1024), filename="a.png", content_type="image/png")
    error = await openai_error(await http.post(EDITS, data=form, headers=auth), 413)
    assert error["code"] == "payload_too_large"
    nothing_upstream(simulator)


async def test_a_gzip_body_that_is_not_gzip_is_a_400(
    http: TestClient, simulator: SimHandle, auth: dict[str, str]
) -> None:
    headers = {**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    resp = await http.post(IMAGES, data=b'{"model": "nano_banana", "prompt": "x"}', headers=headers)
    error = await openai_error(resp, 400)
    assert error["type"] == "invalid_request_error"
    nothing_upstream(simulator)


async def test_a_real_gzip_body_is_read(http: TestClient, simulator: SimHandle, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    body = gzip.compress(b'{"model": "nano_banana", "prompt": "x", "colour": "red"}')
    error = await openai_error(await http.post(IMAGES, data=body, headers=headers), 400)
    assert error["param"] == "colour"  # decoded, then validated
    nothing_upstream(simulator)


@pytest.mark.parametrize("how", ["multipart", "json"])
async def test_a_fake_gif_input_is_a_400(
    http: TestClient, simulator: SimHandle, auth: dict[str, str], how: str
) -> None:
    fake = b"GIF89a" + bytes(range(256)) * 8  # the magic, then no image at all
    if how == "multipart":
        form = aiohttp.FormData()
        form.add_field("prompt", "make it blue")
        form.add_field("model", "nano_banana")
        form.add_field("image", fake, filename="a.gif", content_type="image/gif")
        resp = await http.post(EDITS, data=form, headers=auth)
    else:
        import base64

        body = {"model": "nano_banana", "prompt": "make it blue", "image": base64.b64encode(fake).decode()}
        resp = await http.post(EDITS, json=body, headers=auth)
    error = await openai_error(resp, 400)
    assert (error["type"], error["param"]) == ("invalid_request_error", "image"), error
    nothing_upstream(simulator)
