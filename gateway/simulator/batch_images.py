"""Images on the simulator's batchexecute: ``ogiZ0b`` (generate), ``maseQ`` (upload), ``SPrCad``
(upscale), in the captured shapes (evidence ``images.json``; research video-image-rpcs.md §6-§7, §9).

``ogiZ0b`` is ``[null, [row, …], 1, ctx, [uuid, …]]`` with 1-4 rows of
``[null, null, inputs | null, seed, aspect, model, null, ctx, [[[prompt]]], null, null, null, uuid,
uuid]``: each row's context carries the outer context's token, and the seeds run seed, seed+1, …
It answers ``[[imageRow, …], [workflowRow, …]]`` at once. A model code the account's catalogue does
not list answers a bare ``[5]`` (as NARWHAL did after the BELUGA switch); a ``partial_batch`` fault
drops the last row of a multi-row answer, with no error, as Flow sometimes does.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from PIL import Image, UnidentifiedImageError

from gateway.simulator.batch_status import owned, signed_url
from gateway.simulator.batchexecute_core import (
    RpcError,
    check_ctx,
    int_of,
    is_uuid,
    project_of_path,
    token_of,
)
from gateway.simulator.call import Call
from gateway.simulator.catalogue import Usage, catalogue, service_tier
from gateway.simulator.records import image_row, upload_record, workflow_row
from gateway.simulator.render import pixel_size, render_jpeg
from gateway.simulator.state import Media

# flowboard measured 4 = 3:4 and 5 = 4:3 from JPEG headers (four sources to one); the simulator follows it.
IMAGE_ASPECTS = {
    1: "IMAGE_ASPECT_RATIO_SQUARE",
    2: "IMAGE_ASPECT_RATIO_PORTRAIT",
    3: "IMAGE_ASPECT_RATIO_LANDSCAPE",
    4: "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR",
    5: "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE",
}
MIMES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "image/webp": b"RIFF", "image/gif": b"GIF8"}
ROW_SLOTS = 14
UPLOAD_SLOTS = 12
INPUT_TYPES = (1, 2)  # an input's [4]: 1 reference, 2 base image
# The reCAPTCHA action of an upload: IMAGE_GENERATION (dacvuips) or UPLOAD_IMAGE (btcfoxman, G-Labs).
UPLOAD_ACTIONS = ("IMAGE_GENERATION", "UPLOAD_IMAGE")
UPSCALES = {1: ("GEM_PIX_2_UPSAMPLE_2K", 2), 2: ("GEM_PIX_2_UPSAMPLE_4K", 4)}  # factor code → (usage, x)


async def generate_images(call: Call, inner: Any, source_path: str) -> object:
    """``ogiZ0b``: 1-4 images in one call, answered with their signed URLs."""
    project = project_of_path(call, source_path)
    if not isinstance(inner, list) or len(inner) != 5 or inner[0] is not None or inner[2] != 1:
        raise RpcError(3)
    rows, ctx, trailer = inner[1], inner[3], inner[4]
    if not isinstance(rows, list) or not 1 <= len(rows) <= 4 or not isinstance(trailer, list):
        raise RpcError(3)
    if not trailer or not is_uuid(trailer[0]):
        raise RpcError(3)
    check_ctx(call, ctx, project=project, action=None)
    first = int_of(rows[0][3]) if isinstance(rows[0], list) and len(rows[0]) == ROW_SLOTS else None
    if first is None:
        raise RpcError(3)
    usages = [_check_row(call, row, project, ctx, first + index) for index, row in enumerate(rows)]
    check_ctx(call, ctx, project=project, action="IMAGE_GENERATION")
    _charge(call, usages)
    if call.fault_kind == "partial_batch" and len(rows) > 1:
        rows = rows[:-1]  # Flow answers 3 of 4 now and then, with no error
    media = [_add_image(call, row, project, trailer[0]) for row in rows]
    return [[_row(call, m) for m in media], [workflow_row(m) for m in media]]


def _check_row(call: Call, row: Any, project: str, ctx: list[Any], seed: int) -> Usage:
    """One row: its shape, its context (the outer token), its ``seed`` (the first row's + index), model."""
    if not isinstance(row, list) or len(row) != ROW_SLOTS or row[:2] != [None, None] or row[6] is not None:
        raise RpcError(3)
    if row[9:12] != [None] * 3 or not (is_uuid(row[12]) and is_uuid(row[13])):
        raise RpcError(3)
    check_ctx(call, row[7], project=project, action=None)
    if token_of(row[7]) != token_of(ctx):
        raise RpcError(3)
    if int_of(row[3]) != seed:
        raise RpcError(3)  # a batch uses seed + index (fograd, 2026-10-02)
    prompt = row[8]
    if not (isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], list)):
        raise RpcError(3)
    if not (isinstance(prompt[0][0], list) and isinstance(prompt[0][0][0], str) and prompt[0][0][0].strip()):
        raise RpcError(3)
    usage = catalogue(call.owner.spec.cohort).image_usage(row[5])
    if usage is None:
        raise RpcError(5)  # a model the account does not have: a bare NOT_FOUND (btcfoxman, live)
    need = {1, 3} if row[2] is not None else {1}  # the prompt, and reference images if any [G]
    if row[4] not in usage.aspects or not any(set(option) >= need for option in usage.options):
        raise RpcError(3)  # an aspect the model lacks, references it takes none of, an upsample usage
    _check_inputs(call, row[2], usage)
    return usage


def _check_inputs(call: Call, inputs: Any, usage: Usage) -> None:
    """References ``[[mediaId, null, null, null, 1|2], …]``: images of the account, within the model's cap."""
    if inputs is None:
        return
    if not isinstance(inputs, list) or not inputs or len(inputs) > (usage.max_images or 0):
        raise RpcError(3)
    for ref in inputs:
        if not isinstance(ref, list) or len(ref) != 5 or ref[1:4] != [None] * 3 or ref[4] not in INPUT_TYPES:
            raise RpcError(3)
        owned(call, ref[0], ("upload", "image"))


def _charge(call: Call, usages: list[Usage]) -> None:
    """Images cost nothing in the catalogue (a daily quota applies); ``image_credits`` adds a price."""
    tier = service_tier(call.owner.spec.tier)
    if any(usage.cost(tier) is None for usage in usages):
        raise RpcError(7, "PUBLIC_ERROR_MODEL_ACCESS_DENIED", "int")
    total = call.world.config.image_credits * len(usages)
    if total > call.owner.credits:
        raise RpcError(8, "PUBLIC_ERROR_USER_QUOTA_REACHED")
    call.owner.credits -= total


def _add_image(call: Call, row: list[Any], project: str, batch: str) -> Media:
    return call.world.add_media(
        Media(
            call.world.new_media_name(),
            "image",
            call.owner.spec.session_token,
            project,
            aspect=IMAGE_ASPECTS[row[4]],
            prompt=row[8][0][0][0],
            seed=row[3],
            model=row[5],
            batch=batch,
        )
    )


def _row(call: Call, media: Media) -> list[object]:
    size = pixel_size(media.aspect, scale=call.world.config.image_scale)
    return image_row(media, signed_url(call, "image", media.name), size)


async def upload(call: Call, inner: Any, source_path: str) -> object:
    """``maseQ``: ``[ctx, base64, mime, 1, null×4, fileName, null, uuid, uuid]`` → ``[record, workflow]``."""
    project = project_of_path(call, source_path)
    if not isinstance(inner, list) or len(inner) != UPLOAD_SLOTS or inner[2] not in MIMES:
        raise RpcError(3)
    if inner[3] != 1 or inner[4:8] != [None] * 4 or not isinstance(inner[8], str) or not inner[8]:
        raise RpcError(3)
    if not (is_uuid(inner[10]) and is_uuid(inner[11])) or not isinstance(inner[9], list | None):
        raise RpcError(3)  # [9] binds the upload as a character's portrait (U-pf)
    data = _decoded(inner[1], MIMES[inner[2]])
    check_ctx(call, inner[0], project=project, action=UPLOAD_ACTIONS)
    media = call.world.add_media(
        Media(
            call.world.new_media_name(),
            "upload",
            call.owner.spec.session_token,
            project,
            prompt=inner[8],
            data=data,
            size=_pixel_size(data),
            batch=inner[10],
        )
    )
    marker = call.world.config.record_marker
    return [upload_record(media, marker), workflow_row(media)]


def _decoded(encoded: Any, magic: bytes) -> bytes:
    """Raw base64 (a ``data:`` prefix gets ``[3]``, dacvuips) whose bytes start with the mime's magic."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise RpcError(3) from None
    if not data.startswith(magic):
        raise RpcError(3)
    return data


def _pixel_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None  # Flow keeps bytes it cannot size (a header-only JPEG); the record shows no size


async def upscale_image(call: Call, inner: Any, source_path: str) -> object:
    """``SPrCad``: ``[mediaId, 1|2, ctx]`` → ``[[w, h], "<base64 jpeg>"]`` at once (1 = 2K, 2 = 4K).

    The context's project may be null (dacvuips) or the image's (Fograd's page capture). The upsample
    usage must be offered at the account's service tier (4K: Ultra only), else ``[7]``.
    """
    del source_path
    if not isinstance(inner, list) or len(inner) != 3 or inner[1] not in UPSCALES:
        raise RpcError(3)
    media = owned(call, inner[0], ("image",))
    if isinstance(inner[2], list) and len(inner[2]) > 5 and inner[2][5] not in (None, media.project_id):
        raise RpcError(3)
    check_ctx(call, inner[2], project=None, action="IMAGE_GENERATION")
    key, factor = UPSCALES[inner[1]]
    usage = catalogue(call.owner.spec.cohort).image_usage(key)
    if usage is None or usage.cost(service_tier(call.owner.spec.tier)) is None:
        raise RpcError(7, "PUBLIC_ERROR_MODEL_ACCESS_DENIED", "int")
    size = pixel_size(media.aspect, scale=call.world.config.image_scale, factor=factor)
    return [list(size), base64.b64encode(render_jpeg(size, prompt=media.prompt, seed=media.seed)).decode()]
