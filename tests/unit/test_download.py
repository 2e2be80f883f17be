"""Result downloads: bounded in size whether or not the answer announces its length, handed over
piece by piece, and failures as typed upstream errors."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.upstream.flow import download
from gateway.upstream.flow.download import fetch_media, fetch_media_into
from gateway.upstream.flow.errors import UpstreamNotFoundError, UpstreamProtocolError

ServerFactory = Callable[..., object]


async def chunked(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()  # no Content-Length: the size is known only by counting
    await resp.prepare(request)
    for _ in range(int(request.query.get("n", "4"))):
        await resp.write(b"z" * 1000)
    await resp.write_eof()
    return resp


async def gone(_: web.Request) -> web.Response:
    return web.Response(status=404)


async def server(aiohttp_server: ServerFactory) -> TestServer:
    app = web.Application()
    app.router.add_get("/media", chunked)
    app.router.add_get("/gone", gone)
    return await aiohttp_server(app)  # type: ignore[no-any-return, operator]


async def test_pieces_arrive_in_order_and_whole(aiohttp_server: ServerFactory) -> None:
    srv = await server(aiohttp_server)
    got: list[bytes] = []

    async def write(piece: bytes) -> None:
        got.append(piece)

    async with aiohttp.ClientSession() as session:
        await fetch_media_into(session, str(srv.make_url("/media")), write, seconds=5, user_agent="t")
        assert b"".join(got) == b"z" * 4000
        assert (
            await fetch_media(session, str(srv.make_url("/media")), seconds=5, user_agent="t") == b"z" * 4000
        )


async def test_an_unannounced_oversized_answer_is_refused(
    aiohttp_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = await server(aiohttp_server)
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 2500)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamProtocolError, match="too large"):
            await fetch_media(session, str(srv.make_url("/media?n=4")), seconds=5, user_agent="t")
        with pytest.raises(UpstreamNotFoundError):  # a 404 of an expired link: classified, not raw
            await fetch_media(session, str(srv.make_url("/gone")), seconds=5, user_agent="t")
