"""``POST /v1/images/generations`` and ``POST /v1/images/edits``: HTTP in, ``ImagesResponse`` out."""

from __future__ import annotations

import base64
import time

from aiohttp import web

from gateway import keys
from gateway.api.forms import Limits, read_form
from gateway.api.render import json_response, media_url
from gateway.api.schemas import ImageParams, parse_image_request
from gateway.domain import ResponseFormat
from gateway.media.images import extension_for
from gateway.service.generation import ImageResult
from gateway.service.images import ImageOrder

GROUP_HEADER = "x-flow-account-group"


async def create_image(request: web.Request) -> web.Response:
    """Text (and optionally image) to image."""
    return await _handle(request, edit=False)


async def edit_image(request: web.Request) -> web.Response:
    """Image(s) plus prompt to image."""
    return await _handle(request, edit=True)


async def _handle(request: web.Request, *, edit: bool) -> web.Response:
    settings = request.app[keys.SETTINGS].media
    limits = Limits(
        settings.max_input_bytes, request.app[keys.SETTINGS].server.max_body_bytes, settings.max_input_images
    )
    form = await read_form(request, limits)
    params = parse_image_request(form, edit=edit, max_images=settings.max_input_images)
    order = ImageOrder(
        model=params.model,
        prompt=params.prompt,
        owner=request[keys.LICENCE].id,
        n=params.n,
        size=params.size,
        quality=params.quality,
        sources=params.sources,
        groups=header_groups(request),
    )
    results = await request.app[keys.IMAGES].run(order)
    return json_response(_images_response(request, params, results))


def header_groups(request: web.Request) -> tuple[str, ...]:
    """Account groups from ``x-flow-account-group: a,b``."""
    raw = request.headers.get(GROUP_HEADER, "")
    return tuple(g.strip().lower() for g in raw.split(",") if g.strip())


def _images_response(
    request: web.Request, params: ImageParams, results: list[ImageResult]
) -> dict[str, object]:
    data: list[dict[str, object]] = []
    for result in results:
        if params.response_format is ResponseFormat.URL:
            data.append({"url": media_url(request, result.media.id), "revised_prompt": None})
        else:
            data.append({"b64_json": base64.b64encode(result.data).decode("ascii"), "revised_prompt": None})
    first = results[0].media
    return {
        "created": int(time.time()),
        "data": data,
        "output_format": extension_for(first.mime),
    }
