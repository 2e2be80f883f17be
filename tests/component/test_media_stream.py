"""Serving a blob from a store with no local file (what the S3 store is to the API), in a bare app
with the error middleware and one handler: the whole blob, ranges, a stale ``If-Range``, ``HEAD``,
a 416, and a blob removed between its ``stat`` and its read (a clean 404, not a cut response)."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.api.media import media_response
from gateway.errors import NotFoundError
from gateway.media.storage import CHUNK_BYTES, DiskMediaStore, StoredMedia
from gateway.middleware.errors import error_middleware

ClientFor = Callable[[web.Application], Awaitable[TestClient]]
DATA = os.urandom(3 * CHUNK_BYTES + 123)


class NoLocalFile:
    """The disk store, seen through the API as a store without local paths (as S3 is)."""

    def __init__(self, root: Path, *, vanishing: bool = False) -> None:
        self.disk = DiskMediaStore(root)
        self.vanishing = vanishing  # blobs go right after they are found (another replica's sweep)

    async def stat(self, media_id: str) -> StoredMedia | None:
        found = await self.disk.stat(media_id)
        if self.vanishing:
            await self.disk.delete(media_id)
        return found

    async def path(self, media_id: str) -> Path | None:
        return None

    def chunks(
        self, media: StoredMedia, *, start: int = 0, stop: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        return self.disk.chunks(media, start=start, stop=stop)


async def serve(request: web.Request) -> web.StreamResponse:
    response = await media_response(request, request.match_info["media_id"])
    if response is None:
        raise NotFoundError("no such media")
    return response


async def client_for(aiohttp_client: ClientFor, media: NoLocalFile) -> tuple[TestClient, str]:
    stored = await media.disk.put(DATA, mime="video/mp4", prefix="vid")
    app = web.Application(middlewares=[error_middleware()])
    app[keys.MEDIA] = cast(Any, media)  # only what the API reads of a store
    app.router.add_get("/media/{media_id}", serve)
    return await aiohttp_client(app), f"/media/{stored.id}"


async def test_whole_ranged_stale_and_head(aiohttp_client: ClientFor, tmp_path: Path) -> None:
    http, url = await client_for(aiohttp_client, NoLocalFile(tmp_path))
    whole = await http.get(url)
    assert (whole.status, await whole.read()) == (200, DATA)
    assert whole.headers["Content-Type"] == "video/mp4" and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Length"] == str(len(DATA)) and "Last-Modified" in whole.headers
    middle = await http.get(url, headers={"Range": f"bytes={CHUNK_BYTES - 1}-{2 * CHUNK_BYTES}"})
    assert (middle.status, await middle.read()) == (206, DATA[CHUNK_BYTES - 1 : 2 * CHUNK_BYTES + 1])
    assert middle.headers["Content-Range"] == f"bytes {CHUNK_BYTES - 1}-{2 * CHUNK_BYTES}/{len(DATA)}"
    beyond = await http.get(url, headers={"Range": "bytes=10-99999999"})  # the end is clamped
    assert (beyond.status, await beyond.read()) == (206, DATA[10:])
    stale = await http.get(url, headers={"Range": "bytes=0-9", "If-Range": formatdate(0, usegmt=True)})
    assert (stale.status, len(await stale.read())) == (200, len(DATA))
    past = await http.get(url, headers={"Range": f"bytes={len(DATA)}-"})
    assert past.status == 416 and past.headers["Content-Range"] == f"bytes */{len(DATA)}"
    head = await http.head(url)
    assert (head.status, head.headers["Content-Length"], await head.read()) == (200, str(len(DATA)), b"")


async def test_a_blob_gone_between_stat_and_read_is_a_404(aiohttp_client: ClientFor, tmp_path: Path) -> None:
    http, url = await client_for(aiohttp_client, NoLocalFile(tmp_path, vanishing=True))
    resp = await http.get(url)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
