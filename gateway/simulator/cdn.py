"""The media CDN: signed, expiring ``/image/<id>`` and ``/video/<id>`` URLs (flow-content.google)."""

from __future__ import annotations

from aiohttp import web

from gateway.simulator.call import Call, Route
from gateway.simulator.errors import GoogleError, not_found
from gateway.simulator.render import pixel_size, render_jpeg
from gateway.simulator.timeline import SUCCESSFUL
from gateway.simulator.video import video_bytes


def _signed(call: Call) -> None:
    query = call.request.query
    if not call.world.check_signature(call.request.path, query.get("Expires"), query.get("Signature")):
        raise GoogleError(403, "PERMISSION_DENIED", "Signature expired or invalid.")


async def image(call: Call) -> web.StreamResponse:
    """A generated image (or a video's poster) as JPEG."""
    _signed(call)
    media = call.world.media.get(call.request.match_info["name"])
    if media is None or media.kind not in ("image", "video"):
        raise not_found()
    aspect = media.aspect.replace("VIDEO_", "IMAGE_")
    data = render_jpeg(
        pixel_size(aspect, scale=call.world.config.image_scale), prompt=media.prompt, seed=media.seed
    )
    return web.Response(body=data, content_type="image/jpeg")


async def video(call: Call) -> web.StreamResponse:
    """A finished video as MP4."""
    _signed(call)
    media = call.world.media.get(call.request.match_info["name"])
    if media is None or media.kind != "video" or call.video_status(media) != SUCCESSFUL:
        raise not_found()
    return web.Response(body=video_bytes(call, media), content_type="video/mp4")


ROUTES = (
    Route("GET", "/image/{name}", "cdn.image", "none", image),
    Route("GET", "/video/{name}", "cdn.video", "none", video),
)
