"""Sending a stored blob that has no local file (the S3 store) as it is read: ``Range`` honoured as
``web.FileResponse`` honours it for a file (206 and ``Content-Range``; ``If-Range`` by date), a
piece at a time, so a video is never held whole in memory.

It decides nothing about who may read what (``api/media.py`` does) and checks ranges with the same
rules (``check_range``) before asking the store for a byte.
"""

from __future__ import annotations

import contextlib

from aiohttp import hdrs, web

from gateway.errors import NotFoundError
from gateway.media.storage import MediaStore, StoredMedia

CACHE_CONTROL = "private, max-age=3600"


def byte_range(request: web.Request, stat: StoredMedia) -> tuple[int, int] | None:
    """The ``[start, stop)`` the request asks for, or None for the whole blob; the ``Range`` was
    already found satisfiable (``check_range``)."""
    if hdrs.RANGE not in request.headers:
        return None
    if_range = request.if_range
    if if_range is not None and stat.created_at > if_range.timestamp():
        return None  # the client's copy is stale: the whole blob
    asked = request.http_range
    if asked.start is not None and asked.start < 0:  # a suffix: the last -start bytes
        start, stop = max(0, stat.size + asked.start), stat.size
    else:
        start, stop = asked.start or 0, stat.size if asked.stop is None else min(asked.stop, stat.size)
    return start, stop


async def stream_response(
    request: web.Request, media: MediaStore, stat: StoredMedia, *, span: tuple[int, int] | None
) -> web.StreamResponse:
    """Relay the asked bytes of ``stat``'s blob; 404 when it went between ``stat`` and the read."""
    start, stop = span if span is not None else (0, stat.size)
    response = web.StreamResponse(status=200 if span is None else 206)
    response.headers.update({hdrs.CONTENT_TYPE: stat.mime, hdrs.CACHE_CONTROL: CACHE_CONTROL})
    response.headers[hdrs.ACCEPT_RANGES] = "bytes"
    if span is not None:
        response.headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{stop - 1}/{stat.size}"
    response.content_length = stop - start
    response.last_modified = stat.created_at
    if request.method == hdrs.METH_HEAD:
        await response.prepare(request)
        return response
    pieces = media.chunks(stat, start=start, stop=stop)
    async with contextlib.aclosing(pieces):
        try:  # the first piece before the headers: a blob gone since is still a clean 404
            first = await anext(pieces, b"")
        except FileNotFoundError:
            raise NotFoundError(f"no media with id {stat.id!r}") from None
        await response.prepare(request)
        await response.write(first)
        async for piece in pieces:
            await response.write(piece)
    await response.write_eof()
    return response
