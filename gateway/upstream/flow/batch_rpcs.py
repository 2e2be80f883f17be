"""Positional payloads of the flow.google.com RPCs and readers of their replies (flow-migration.md §2.5-§2.6).

Each builder returns the inner payload (a JSON-able list) with :data:`CAPTCHA_PLACEHOLDER` where the
single-use token goes; the worker substitutes it in the page. Codes that sources disagree on come
from ``BatchSettings`` (config), never from literals here. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterator

from gateway.config import BatchSettings
from gateway.domain import GeneratedImage, ImageData, ImageResolution, UpstreamMedia
from gateway.upstream.flow.batch import CAPTCHA_PLACEHOLDER
from gateway.upstream.flow.errors import UpstreamProtocolError
from gateway.upstream.flow.transport import ImageGenerationRequest

RPC_IMAGE = "ogiZ0b"
RPC_UPLOAD = "maseQ"
RPC_IMAGE_UPSCALE = "SPrCad"
INPUT_BASE, INPUT_REFERENCE = 2, 1
UPSCALE_CODES = {ImageResolution.R2K: 1, ImageResolution.R4K: 2}
_IMAGE_URL = re.compile(r"^https?://[^/]+/image/(?P<id>[A-Za-z0-9_-]+)")


def new_uuid() -> str:
    """Upper-case UUID4, as the Flow page sends them."""
    return str(uuid.uuid4()).upper()


def project_path(project_id: str) -> str:
    """The ``source-path`` of calls scoped to a project."""
    return f"/project/{project_id}"


def context(project_id: str | None, settings: BatchSettings) -> list[object]:
    """The shared context block; the token slot holds the placeholder."""
    return [
        None,
        settings.tool_code,
        None,
        None,
        None,
        project_id,
        None,
        None,
        None,
        None,
        [CAPTCHA_PLACEHOLDER, 1],
    ]


def image_generate(request: ImageGenerationRequest, project_id: str, settings: BatchSettings) -> list[object]:
    """``ogiZ0b``: ``request.count`` variants (1-4) as rows of one call, one token for all (each row's
    context carries the same token as the outer one); a batch uses seed + index (fograd, 2026-10-02)."""
    ctx = context(project_id, settings)
    inputs = [[m.name, None, None, None, INPUT_REFERENCE] for m in request.inputs] or None
    rows = [
        [
            None,
            None,
            inputs,
            request.seed + index,
            settings.image_aspect_codes[request.aspect.value],
            request.upstream_model,
            None,
            ctx,
            [[[request.prompt]]],
            None,
            None,
            None,
            new_uuid(),
            new_uuid(),
        ]
        for index in range(request.count)
    ]
    return [None, rows, 1, ctx, [new_uuid()]]


def parse_image_generate(payload: object, project_id: str) -> list[GeneratedImage]:
    """One image per row of ``payload[0]``: media id ``row[0]``, generation id ``row[2]``, signed URL
    ``row[6][0][13]`` whose path must name the row's own id (btcfoxman). Fewer rows than asked is a
    partial answer, not an error. A reply without such rows falls back to any ``…/image/<id>`` URL in
    it (the drift canary counts the unexpected shape)."""
    rows = at(payload, 0)
    images = [
        image for row in (rows if isinstance(rows, list) else []) if (image := _image_row(row, project_id))
    ]
    if images:
        return images
    found: dict[str, GeneratedImage] = {}
    for text in strings(payload):
        match = _IMAGE_URL.match(text)
        if match and match["id"] not in found:
            found[match["id"]] = GeneratedImage(UpstreamMedia(match["id"], project_id), url=text)
    if not found:
        raise UpstreamProtocolError("ogiZ0b: reply has no image URL", endpoint=RPC_IMAGE)
    return list(found.values())


def _image_row(row: object, project_id: str) -> GeneratedImage | None:
    media_id, workflow, url = at(row, 0), at(row, 2), at(row, 6, 0, 13)
    if not isinstance(media_id, str) or not isinstance(url, str):
        return None
    match = _IMAGE_URL.match(url)
    if match is None or match["id"] != media_id:
        return None
    return GeneratedImage(
        UpstreamMedia(media_id, project_id, workflow if isinstance(workflow, str) else ""), url=url
    )


def upload(image: ImageData, project_id: str, file_name: str, settings: BatchSettings) -> list[object]:
    """``maseQ``: an image, base64 inline, into the project."""
    encoded = base64.b64encode(image.data).decode("ascii")
    return [
        context(project_id, settings),
        encoded,
        image.mime,
        1,
        None,
        None,
        None,
        None,
        file_name,
        None,
        new_uuid(),
        new_uuid(),
    ]


def parse_upload(payload: object, project_id: str) -> UpstreamMedia:
    """``[[mediaId, projectId, …]]``; a degenerate image answers with no id."""
    first = payload[0] if isinstance(payload, list) and payload else None
    media_id = first[0] if isinstance(first, list) and first else None
    if not isinstance(media_id, str) or not media_id:
        raise UpstreamProtocolError("maseQ: reply has no media id", endpoint=RPC_UPLOAD)
    return UpstreamMedia(media_id, project_id)


def image_upscale(media: UpstreamMedia, resolution: ImageResolution, settings: BatchSettings) -> list[object]:
    """``SPrCad``: 2K (1) or 4K (2); the context carries no project."""
    return [media.name, UPSCALE_CODES[resolution], context(None, settings)]


def parse_image_upscale(payload: object) -> bytes:
    """``[<metadata>, "<base64 jpeg>"]``."""
    encoded = payload[1] if isinstance(payload, list) and len(payload) > 1 else None
    if not isinstance(encoded, str) or not encoded:
        raise UpstreamProtocolError("SPrCad: reply has no image", endpoint=RPC_IMAGE_UPSCALE)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise UpstreamProtocolError("SPrCad: image is not base64", endpoint=RPC_IMAGE_UPSCALE) from None


def at(value: object, *path: int) -> object:
    """Walk nested lists; None as soon as a step is missing."""
    for index in path:
        if not isinstance(value, list) or len(value) <= index:
            return None
        value = value[index]
    return value


def strings(value: object) -> Iterator[str]:
    """Every string anywhere in a nested reply, depth first."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(reversed(item))
