"""``GET /v1/media/{id}``: a stored result, by signed URL or by its owner's licence.

Stored files are sent with ``Range`` support (206): by sendfile from the disk store, or relayed as
read from a store with no local file (S3, ``api/media_stream.py``). A ``Range`` that cannot be
served (not one byte range, or starting past the end) is a 416 in the OpenAI error shape with
``Content-Range: bytes */<size>``, checked before the file is opened, rather than aiohttp's bare
416 that still names the file's MIME type.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import hdrs, web

from gateway import keys
from gateway.api.media_stream import CACHE_CONTROL, byte_range, stream_response
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.media.storage import StoredMedia

SIGNATURE_PARAMS = ("expires", "signature")
RANGE_PARAM = "range"  # the param a 416 names: the Range header


class RangeNotSatisfiableError(InvalidRequestError):
    """The ``Range`` header asks for bytes the file cannot give (416, with the file's size)."""

    status = 416
    default_code = "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, param=RANGE_PARAM)
        self.size = size

    def headers(self) -> dict[str, str]:
        """RFC 9110 §15.5.17: the current length, so the client can ask again."""
        return {**super().headers(), "Content-Range": f"bytes */{self.size}", "Accept-Ranges": "bytes"}


def check_range(request: web.Request, stat: StoredMedia) -> None:
    """Raise :class:`RangeNotSatisfiableError` for a ``Range`` aiohttp would answer 416."""
    raw = request.headers.get(hdrs.RANGE)
    if raw is None:
        return
    if_range = request.if_range
    if if_range is not None and stat.created_at > if_range.timestamp():
        return  # the client's copy is stale: the whole file is sent and Range is ignored
    try:
        start = request.http_range.start
    except ValueError:
        raise RangeNotSatisfiableError(
            f"Range {raw[:64]!r} is not a single byte range (bytes=first-last)", size=stat.size
        ) from None
    if start is not None and start >= stat.size:
        raise RangeNotSatisfiableError(
            f"Range starts past the end of the file ({stat.size} bytes)", size=stat.size
        )


def file_response(request: web.Request, path: Path, stat: StoredMedia) -> web.FileResponse:
    """A stored file with its MIME type, ``Range`` honoured; an unsatisfiable one is a 416 error."""
    check_range(request, stat)
    return web.FileResponse(path, headers={"Content-Type": stat.mime, "Cache-Control": CACHE_CONTROL})


async def media_response(request: web.Request, media_id: str) -> web.StreamResponse | None:
    """The stored blob ``media_id`` with its MIME type, ``Range`` honoured (sent from its local file
    when the store has one, else streamed from the store); None when nothing is stored under it."""
    media = request.app[keys.MEDIA]
    path = await media.path(media_id) if media_id else None
    stat = await media.stat(media_id) if media_id else None
    if stat is None:
        return None
    if path is not None:
        return file_response(request, path, stat)
    check_range(request, stat)
    return await stream_response(request, media, stat, span=byte_range(request, stat))


def is_signed(request: web.Request) -> bool:
    """True when the request carries signature parameters (the licence check is then the signature)."""
    return all(p in request.query for p in SIGNATURE_PARAMS)


async def get_media(request: web.Request) -> web.StreamResponse:
    """Serve the file with its MIME type; unknown, foreign or badly signed ids are all 404."""
    media_id = request.match_info["media_id"]
    if is_signed(request):
        ok = request.app[keys.SIGNER].verify(media_id, request.query["expires"], request.query["signature"])
    else:
        record = await request.app[keys.STORE].get_media(media_id)
        ok = record is not None and record.owner == request[keys.LICENCE].id
    response = await media_response(request, media_id) if ok else None
    if response is None:
        raise NotFoundError(f"no media with id {media_id!r}")
    return response
