"""A large ``json_response`` in a bare application: the same bytes as one whole body, a bounded write
buffer for a reader that does not read, and a client that leaves mid-body logged as such."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from gateway.api.render import Base64Bytes, json_response

RAW = os.urandom(975_000)  # 1.3 MB of base64, the image
ClientFactory = Callable[..., Any]
SERVER_SNDBUF = 64 * 1024  # a kernel buffer that fills, as on a slow link (no autotuning past it)


def doc(kind: str) -> dict[str, object]:
    b64: object = Base64Bytes(RAW) if kind == "lazy" else base64.b64encode(RAW).decode()
    return {"created": 1, "data": [{"b64_json": b64, "revised_prompt": None}], "output_format": "jpg"}


def app_with(peaks: dict[str, int]) -> web.Application:
    async def big(request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        transport = request.transport
        assert transport is not None
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SERVER_SNDBUF)

        async def sample() -> None:
            while not transport.is_closing():
                peaks[kind] = max(peaks.get(kind, 0), transport.get_write_buffer_size())
                await asyncio.sleep(0.001)

        sampler = asyncio.ensure_future(sample())
        request.app[SAMPLERS].append(sampler)
        if kind == "whole":  # what json_response did before: the body handed to the transport at once
            return web.Response(body=orjson.dumps(doc("str")), content_type="application/json")
        return json_response(doc(kind))

    app = web.Application()
    app[SAMPLERS] = []
    app.router.add_get("/big/{kind}", big)
    return app


SAMPLERS = web.AppKey("samplers", list)


async def test_the_streamed_body_is_the_same_json(aiohttp_client: ClientFactory) -> None:
    client: TestClient = await aiohttp_client(app_with({}))
    for kind in ("str", "lazy"):
        resp = await client.get(f"/big/{kind}")
        body = await resp.read()
        assert resp.status == 200 and resp.content_type == "application/json"
        assert int(resp.headers["Content-Length"]) == len(body)
        assert body == orjson.dumps(doc("str"))
    for sampler in client.app[SAMPLERS]:
        sampler.cancel()


async def stalled_read(server: TestServer, path: str) -> int:
    """Ask for ``path``, read nothing for a while, then everything; the bytes received."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await asyncio.sleep(0.3)  # a reader at a standstill: whatever the server wrote is buffered
    received = len(await reader.read())
    writer.close()
    return received


@pytest.mark.parametrize(("kind", "bound"), [("str", 256 * 1024), ("lazy", 256 * 1024)])
async def test_a_reader_that_does_not_read_holds_a_few_chunks_not_the_body(
    aiohttp_server: ClientFactory, kind: str, bound: int
) -> None:
    peaks: dict[str, int] = {}
    server: TestServer = await aiohttp_server(app_with(peaks))
    assert await stalled_read(server, "/big/whole") > len(RAW)
    assert await stalled_read(server, f"/big/{kind}") > len(RAW)
    assert peaks["whole"] > 900 * 1024  # the whole body waits in aiohttp's buffer
    assert peaks[kind] < bound  # at most two 64 KiB chunks and the transport's high water
    for sampler in server.app[SAMPLERS]:
        sampler.cancel()


async def test_a_client_that_leaves_mid_body_is_one_info_line() -> None:
    runner = web.AppRunner(app_with({}), handler_cancellation=False)  # as ``python -m gateway serve``
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        with capture_logs() as logs:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /big/lazy HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readexactly(100_000)
            writer.transport.abort()  # gone, mid-body
            for _ in range(200):
                if logs:
                    break
                await asyncio.sleep(0.01)
    finally:
        for sampler in runner.app[SAMPLERS]:
            sampler.cancel()
        await runner.cleanup()
    assert [(e["event"], e["log_level"]) for e in logs] == [("client_disconnected", "info")]
    assert 0 < logs[0]["sent"] < logs[0]["size"]
