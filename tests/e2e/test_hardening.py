"""Bad input and broken peers against the real app: always the right 4xx in OpenAI's error shape (or a
clean close), one log line at the right level, and nothing sent upstream for what was refused."""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import logging
import os
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp import FormData, WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from structlog.testing import capture_logs

from gateway.config import Settings
from tests.conftest import SimHandle

ClientWith = Callable[..., Awaitable[TestClient]]
SECRET = "worker-secret-for-hardening-tests-0123456789"
FAST = {"GATEWAY_TASKS_POLL_INTERVAL": "0.1", "GATEWAY_TASKS_LINK_DELAY": "0.05"}
GENERATION_ROUTES = ("upload", "images.generate", "video.submit", "captcha.create")


def image(fmt: str = "PNG", size: tuple[int, int] = (40, 30), pixels: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    (Image.frombytes("RGB", size, pixels) if pixels else Image.new("RGB", size, (10, 200, 10))).save(buf, fmt)
    return buf.getvalue()


FAKES = {
    "gif-magic-then-garbage": b"GIF89a" + b"\x00garbage" * 20,
    "truncated-png": image()[:60],
    "bmp": image("BMP"),
    "html-page": b"<!DOCTYPE html><html><body>Not Found</body></html>",
}


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


async def openai_error(resp: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "invalid_request_error"
    return body["error"]  # type: ignore[no-any-return]


def nothing_upstream(simulator: SimHandle) -> None:
    calls = {route: simulator.sim.stats.calls(route) for route in GENERATION_ROUTES}
    assert calls == dict.fromkeys(GENERATION_ROUTES, 0)


def no_errors(logs: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    """No structlog event and no stdlib record (aiohttp's own) at error level."""
    assert [e for e in logs if e["log_level"] in ("error", "critical")] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- bodies that do not decode ------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize(
    "path", ["/v1/images/generations", "/v1/images/edits", "/v1/videos", "/v1/chat/completions"]
)
async def test_a_body_whose_content_encoding_does_not_decode_is_400(
    client_with: ClientWith,
    auth: dict[str, str],
    simulator: SimHandle,
    caplog: pytest.LogCaptureFixture,
    encoding: str,
    path: str,
) -> None:
    http = await client_with()
    content_type = "multipart/form-data; boundary=zzz" if path.endswith("edits") else "application/json"
    headers = {**auth, "Content-Type": content_type, "Content-Encoding": encoding}
    with capture_logs() as logs:
        resp = await http.post(path, data=b"this was never compressed", headers=headers)
        error = await openai_error(resp, 400)
    assert (error["code"], error["param"]) == ("invalid_content_encoding", None)
    assert encoding in error["message"]
    assert resp.headers["Connection"] == "close"  # the rest of that body cannot be trusted
    # One line, and only at debug: the access line carries the code (the client's mistake, not ours).
    assert [(e["event"], e["log_level"]) for e in logs] == [("request_failed", "debug")]
    no_errors(logs, caplog)
    nothing_upstream(simulator)


async def test_a_well_compressed_body_is_read(client_with: ClientWith, auth: dict[str, str]) -> None:
    http = await client_with()
    body = b'{"model": "nano_banana", "prompt": "x", "n": 9}'
    for encoding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        headers = {**auth, "Content-Type": "application/json", "Content-Encoding": encoding}
        resp = await http.post("/v1/images/generations", data=packed, headers=headers)
        assert (await openai_error(resp, 400))["param"] == "n"  # parsed: the 400 is about n


# --- multipart and header limits -------------------------------------------------------------------

MULTIPART = "multipart/form-data; boundary=zzz"
PROMPT_PART = b'--zzz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n'
BROKEN_MULTIPART = {  # id: (body, Content-Type)
    "truncated": (PROMPT_PART + b"cut short", MULTIPART),
    "unterminated": (PROMPT_PART + b"no closing boundary\r\n", MULTIPART),
    "bad-part-header": (b"--zzz\r\nnot a header line\r\n\r\nx\r\n--zzz--\r\n", MULTIPART),
    "wrong-boundary": (PROMPT_PART.replace(b"zzz", b"yyy") + b"x\r\n--yyy--\r\n", MULTIPART),
    "no-boundary": (b"--zzz\r\n", "multipart/form-data"),
    "empty": (b"", MULTIPART),
}


@pytest.mark.parametrize("kind", list(BROKEN_MULTIPART))
async def test_a_malformed_multipart_body_is_400(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle, kind: str
) -> None:
    http = await client_with()
    body, content_type = BROKEN_MULTIPART[kind]
    resp = await http.post("/v1/images/edits", data=body, headers={**auth, "Content-Type": content_type})
    assert (await openai_error(resp, 400))["code"] == "invalid_multipart"
    nothing_upstream(simulator)


async def test_oversized_parts_are_413_naming_the_part(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await client_with({"GATEWAY_MEDIA_MAX_INPUT_BYTES": "1000"})
    noise = image(size=(100, 100), pixels=os.urandom(30_000))  # ~30 KB
    error = await openai_error(await http.post("/v1/images/edits", data=edit(noise), headers=auth), 413)
    assert (error["code"], error["param"]) == ("payload_too_large", "image[]")
    form = FormData(default_to_multipart=True)
    form.add_field("prompt", "x" * 300_000)  # a text field over 256 KiB
    error = await openai_error(await http.post("/v1/images/edits", data=form, headers=auth), 413)
    assert error["param"] == "prompt"
    nothing_upstream(simulator)


@pytest.mark.parametrize(
    "headers",
    [{"Content-Encoding": "br"}, {"X-Big": "a" * 20_000}],
    ids=["an-encoding-aiohttp-cannot-decode", "an-oversized-header-line"],
)
async def test_what_aiohttp_refuses_before_the_app_is_400(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle, headers: dict[str, str]
) -> None:
    """aiohttp's parser answers these itself (plain text, before any middleware: Brotli is not
    installed); ``obs.logging`` makes its log line one ``bad_http_request`` at info (unit-tested)."""
    http = await client_with()
    resp = await http.post("/v1/images/generations", data=b"{}", headers={**auth, **headers})
    assert resp.status == 400
    nothing_upstream(simulator)


# --- images that are not -----------------------------------------------------------------------------


def edit(data: bytes) -> FormData:
    form = FormData({"prompt": "x", "model": "nano_banana"})
    form.add_field("image[]", data, filename="a.png", content_type="image/png")
    return form


@pytest.mark.parametrize("fake", list(FAKES))
async def test_a_fake_image_file_is_400_naming_the_part(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle, fake: str
) -> None:
    http = await client_with()
    error = await openai_error(await http.post("/v1/images/edits", data=edit(FAKES[fake]), headers=auth), 400)
    assert (error["code"], error["param"]) == ("invalid_image", "image[]")
    nothing_upstream(simulator)


@pytest.mark.parametrize("fake", list(FAKES))
async def test_a_fake_image_in_json_is_400_naming_the_param(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle, fake: str
) -> None:
    http = await client_with(FAST)
    b64 = base64.b64encode(FAKES[fake]).decode()
    data_url, image_json = f"data:image/png;base64,{b64}", {"model": "nano_banana", "prompt": "x"}
    parts = [{"type": "text", "text": "blue"}, {"type": "image_url", "image_url": {"url": data_url}}]
    chat = {"model": "nano_banana", "messages": [{"role": "user", "content": parts}]}
    requests = [
        ("/v1/images/edits", {**image_json, "image": data_url}, "image"),
        ("/v1/images/edits", {**image_json, "images": [{"image_url": b64}]}, "images[0]"),
        ("/v1/videos", {"model": "veo_3_1-fl", "prompt": "x", "input_reference": b64}, "input_reference"),
        ("/v1/chat/completions", chat, "messages[0].content[1].image_url"),
    ]
    for path, body, param in requests:
        error = await openai_error(await http.post(path, json=body, headers=auth), 400)
        assert (error["code"], error["param"]) == ("invalid_image", param)
    nothing_upstream(simulator)


async def test_a_fake_image_behind_a_url_is_400_naming_the_param(
    client_with: ClientWith,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    auth: dict[str, str],
    simulator: SimHandle,
) -> None:
    async def fake(request: web.Request) -> web.Response:
        return web.Response(body=FAKES[request.match_info["name"]], content_type="image/gif")

    images = web.Application()
    images.router.add_get("/{name}", fake)
    server = await aiohttp_server(images)
    http = await client_with()  # the test settings allow private URLs
    for name in FAKES:
        body = {"model": "nano_banana", "prompt": "x", "image": str(server.make_url(f"/{name}"))}
        error = await openai_error(await http.post("/v1/images/edits", json=body, headers=auth), 400)
        assert (error["code"], error["param"]) == ("invalid_image", "image")
    nothing_upstream(simulator)


async def test_a_real_image_still_goes_through(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await client_with()
    resp = await http.post("/v1/images/edits", data=edit(image()), headers=auth)
    assert resp.status == 200, await resp.text()
    assert simulator.sim.stats.calls("upload") == 1


# --- Range ---------------------------------------------------------------------------------------------

HUGE = "9" * 5000  # more digits than Python's int() takes
BAD_RANGES = ["bytes=abc", "bytes=9-2", "bytes=0-1,4-5", "items=0-9", "bytes=99999999-", f"bytes={HUGE}-"]


async def a_stored_image(http: TestClient, auth: dict[str, str]) -> tuple[str, str]:
    """A generated image: (its signed URL's path and query, its media id)."""
    body = {"model": "nano_banana", "prompt": "x", "response_format": "url"}
    resp = await http.post("/v1/images/generations", json=body, headers=auth)
    url = yarl.URL((await resp.json())["data"][0]["url"])
    return url.path_qs, url.name


@pytest.mark.parametrize("bad", BAD_RANGES)
async def test_a_bad_range_on_media_is_416_with_the_size(
    client_with: ClientWith, auth: dict[str, str], bad: str
) -> None:
    http = await client_with()
    signed, media_id = await a_stored_image(http, auth)
    size = len(await (await http.get(signed)).read())
    for path, headers in ((signed, {}), (f"/v1/media/{media_id}", auth)):
        resp = await http.get(path, headers={**headers, "Range": bad})
        error = await openai_error(resp, 416)
        assert (error["code"], error["param"]) == ("range_not_satisfiable", "range")
        assert resp.headers["Content-Range"] == f"bytes */{size}"
        assert resp.headers["Accept-Ranges"] == "bytes"
    good = await http.get(signed, headers={"Range": "bytes=0-9"})
    assert (good.status, good.headers["Content-Range"]) == (206, f"bytes 0-9/{size}")


async def finished_video(http: TestClient, auth: dict[str, str]) -> str:
    resp = await http.post("/v1/videos", json={"model": "veo_3_1", "prompt": "x"}, headers=auth)
    video_id: str = (await resp.json())["id"]
    for _ in range(300):
        doc = await (await http.get(f"/v1/videos/{video_id}", headers=auth)).json()
        if doc["status"] == "completed":
            return video_id
        assert doc["status"] != "failed", doc
        await asyncio.sleep(0.05)
    raise AssertionError("the video never finished")


async def test_a_bad_range_on_video_content_is_416_never_500(
    client_with: ClientWith, auth: dict[str, str]
) -> None:
    http = await client_with(FAST)
    video_id = await finished_video(http, auth)
    size = len(await (await http.get(f"/v1/videos/{video_id}/content", headers=auth)).read())
    for bad in BAD_RANGES:
        resp = await http.get(f"/v1/videos/{video_id}/content", headers={**auth, "Range": bad})
        assert (resp.status, resp.headers["Content-Range"]) == (416, f"bytes */{size}")


async def test_a_bad_range_on_video_content_is_in_openai_shape(
    client_with: ClientWith, auth: dict[str, str]
) -> None:
    http = await client_with(FAST)
    video_id = await finished_video(http, auth)
    resp = await http.get(f"/v1/videos/{video_id}/content", headers={**auth, "Range": "bytes=abc"})
    assert (await openai_error(resp, 416))["param"] == "range"


# --- peers that leave or misbehave ---------------------------------------------------------------------


@asynccontextmanager
async def served(app: web.Application, *, cancels: bool = False) -> AsyncIterator[str]:
    """The app on a real port. ``python -m gateway serve`` keeps aiohttp's default (a handler is not
    cancelled when its client leaves: its next write fails); the test client's server cancels it."""
    runner = web.AppRunner(app, handler_cancellation=cancels)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"{host}:{port}"
    finally:
        await runner.cleanup()


async def wait_for(logs: list[dict[str, Any]], event: str) -> None:
    for _ in range(300):
        if any(e["event"] == event for e in logs):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {event}: {[e['event'] for e in logs]}")


@pytest.mark.parametrize("cancels", [False, True], ids=["production-server", "cancelling-server"])
async def test_a_chat_stream_closed_early_is_a_client_disconnect(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    cancels: bool,
) -> None:
    chat = {"model": "veo_3_1", "stream": True, "messages": [{"role": "user", "content": "a fox"}]}
    app = app_factory(settings_factory({"GATEWAY_TASKS_KEEPALIVE": "0.1"}))
    async with served(app, cancels=cancels) as where, aiohttp.ClientSession() as session:
        with capture_logs() as logs:
            resp = await session.post(f"http://{where}/v1/chat/completions", json=chat, headers=auth)
            assert (await resp.content.readline()).startswith(b"data: ")
            resp.close()
            await wait_for(logs, "chat_stream_client_disconnected")
            metrics = await (await session.get(f"http://{where}/metrics")).text()
    no_errors(logs, caplog)
    assert 'route="/v1/chat/completions",status="500"' not in metrics


async def test_a_client_that_leaves_mid_upload_is_not_an_error(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    licence_key: str,
    simulator: SimHandle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with served(app_factory(settings_factory())) as where:
        host, port = where.split(":")
        with capture_logs() as logs:
            _, writer = await asyncio.open_connection(host, int(port))
            head = (
                f"POST /v1/images/edits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {licence_key}\r\n"
                f"Content-Type: {MULTIPART}\r\nContent-Length: 100000\r\n\r\n"
            )
            writer.write(head.encode() + PROMPT_PART + b"half of it")
            await writer.drain()
            await asyncio.sleep(0.2)  # the handler is reading the body
            writer.transport.abort()
            await wait_for(logs, "client_disconnected")
    no_errors(logs, caplog)
    nothing_upstream(simulator)


FIRST_FRAMES: dict[str, tuple[str | bytes, int]] = {  # what a worker sends first, the close code
    "binary": (b"\x00\x01binary", 1003),
    "not-json": ("hello?", 1008),
    "not-an-object": ("[1, 2, 3]", 1008),
    "wrong-type": ('{"type": "ping"}', 1008),
    "wrong-protocol": ('{"type": "hello", "protocol": 99, "accounts": []}', 1008),
}


@pytest.mark.parametrize("kind", list(FIRST_FRAMES))
async def test_a_worker_whose_first_frame_is_not_a_hello_is_closed_cleanly(
    client_with: ClientWith, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    first, code = FIRST_FRAMES[kind]
    http = await client_with({"GATEWAY_WORKERS_SECRET": SECRET})
    with capture_logs() as logs:
        ws = await http.ws_connect("/v1/flow-worker", headers={"Authorization": f"Bearer {SECRET}"})
        await (ws.send_bytes(first) if isinstance(first, bytes) else ws.send_str(first))
        error = await ws.receive_json(timeout=5)
        closing = await ws.receive(timeout=5)
        assert closing.type is WSMsgType.CLOSE
        assert (closing.data, closing.extra) == (code, error["error"])  # the reason, in the close frame
        await ws.close()
    assert error["type"] == "error" and ws.close_code == code
    assert [(e["event"], e["log_level"]) for e in logs] == [("worker_hello_refused", "warning")]
    no_errors(logs, caplog)
    metrics = await (await http.get("/metrics")).text()
    assert 'route="/v1/flow-worker",status="101"' in metrics
