"""``GET /v1/media/{id}``: a stored result, by signed URL or by its owner's licence."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.errors import NotFoundError

SIGNATURE_PARAMS = ("expires", "signature")


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
    path = await request.app[keys.MEDIA].path(media_id) if ok else None
    stat = await request.app[keys.MEDIA].stat(media_id) if path is not None else None
    if path is None or stat is None:
        raise NotFoundError(f"no media with id {media_id!r}")
    return web.FileResponse(
        path, headers={"Content-Type": stat.mime, "Cache-Control": "private, max-age=3600"}
    )
