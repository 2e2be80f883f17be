"""flow.google.com's one RPC endpoint (batchexecute), as flow-migration.md §2 describes it.

Form body ``f.req=…&at=…``, Google SSO cookie, ``x-same-domain: 1``. HTTP 401 when the cookie is
missing or the ``at``/``f.sid`` are stale; 400 when the ``at`` belongs to another account. RPC
outcomes are framed replies (``)]}'`` then length-prefixed ``wrb.fr`` frames); errors are status lists
such as ``[3]``, ``[7]``, ``[8]``, with ``PUBLIC_ERROR_*`` reasons where Flow gives them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.simulator import batch_video
from gateway.simulator.aisandbox import IMAGE_MODELS, MIMES, TIER_RANK
from gateway.simulator.batchexecute_core import RpcError, check_ctx, frame_reply, project_of_path
from gateway.simulator.call import Call, Route
from gateway.simulator.errors import GoogleError
from gateway.simulator.faults import JOB_KINDS, Fault, raise_fault
from gateway.simulator.render import pixel_size, render_jpeg
from gateway.simulator.state import Media

PATH = "/_/AiSandboxAngularFrontend/data/batchexecute"
# flowboard measured 4 = 3:4 and 5 = 4:3 from JPEG headers; the simulator follows it (flow-migration.md §2.5).
IMAGE_ASPECTS = {
    1: "IMAGE_ASPECT_RATIO_SQUARE",
    2: "IMAGE_ASPECT_RATIO_PORTRAIT",
    3: "IMAGE_ASPECT_RATIO_LANDSCAPE",
    4: "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR",
    5: "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE",
}
FAULT_FRAMES = {
    "rate_limited": (8, "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"),
    "recaptcha": (7, "PUBLIC_ERROR_UNUSUAL_ACTIVITY"),
    "unsafe": (3, "PUBLIC_ERROR_UNSAFE_GENERATION"),
    "internal": (13, None),
    "unavailable": (14, None),
    "quota": (8, None),
    "unauthenticated": (16, None),
}


async def generate_images(call: Call, inner: Any, source_path: str) -> object:
    """``ogiZ0b``: items of ``[…, inputs, seed, aspect, model, …, ctx, [[[prompt]]], …]``; URLs inline."""
    project_id = project_of_path(call, source_path)
    if (
        not isinstance(inner, list)
        or len(inner) < 4
        or not isinstance(inner[1], list)
        or not 1 <= len(inner[1]) <= 4
    ):
        raise RpcError(3)
    for item in inner[1]:
        _check_image_item(call, item, project_id)
    check_ctx(call, inner[3], project=project_id, action="IMAGE_GENERATION")
    return [[_image_record(call, item, project_id) for item in inner[1]]]


def _check_image_item(call: Call, item: Any, project_id: str) -> None:
    if (
        not isinstance(item, list)
        or len(item) < 9
        or item[5] not in IMAGE_MODELS
        or item[4] not in IMAGE_ASPECTS
    ):
        raise RpcError(3)
    if item[5] == "IMAGEN_3_5" and item[4] not in (2, 3):
        raise RpcError(3)
    prompt = item[8]
    if not (
        isinstance(prompt, list)
        and prompt
        and isinstance(prompt[0], list)
        and isinstance(prompt[0][0], list)
        and isinstance(prompt[0][0][0], str)
    ) or not isinstance(item[3], int):
        raise RpcError(3)
    for ref in item[2] or []:
        media = call.world.media.get(ref[0]) if isinstance(ref, list) and ref else None
        if media is None or media.owner != call.owner.spec.session_token or ref[4] not in (1, 2):
            raise RpcError(5)
    check_ctx(call, item[7], project=project_id, action=None)


def _image_record(call: Call, item: list[Any], project_id: str) -> list[object]:
    aspect = IMAGE_ASPECTS[item[4]]
    media = call.world.add_media(
        Media(
            call.world.new_media_name(),
            "image",
            call.owner.spec.session_token,
            project_id,
            aspect=aspect,
            prompt=item[8][0][0][0],
            seed=item[3],
            model=item[5],
        )
    )
    width, height = pixel_size(aspect, scale=call.world.config.image_scale)
    path = f"/image/{media.name}"
    url = f"{call.origin()}{path}?{call.world.signed_query(path)}"
    return [
        media.name,
        project_id,
        media.seed,
        media.prompt,
        [width, height],
        media.model,
        [[None] * 13 + [url]],
    ]


async def upload(call: Call, inner: Any, source_path: str) -> object:
    """``maseQ``: ``[ctx, b64, mime, 1, …, fileName, …]`` → ``[[mediaId, projectId]]``; needs a token."""
    project_id = project_of_path(call, source_path)
    if (
        not isinstance(inner, list)
        or len(inner) < 9
        or inner[2] not in MIMES
        or not isinstance(inner[8], str)
    ):
        raise RpcError(3)
    try:
        data = base64.b64decode(inner[1], validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise RpcError(3) from None
    if not data.startswith(MIMES[inner[2]]):
        raise RpcError(3)
    check_ctx(call, inner[0], project=project_id, action="IMAGE_GENERATION")
    media = call.world.add_media(
        Media(call.world.new_media_name(), "upload", call.owner.spec.session_token, project_id, data=data)
    )
    return [[media.name, project_id]]


async def upscale_image(call: Call, inner: Any, source_path: str) -> object:
    """``SPrCad``: ``[mediaId, 1|2, ctx]`` → ``[[w, h], "<base64 jpeg>"]`` (2K: Pro, 4K: Ultra)."""
    del source_path
    if not isinstance(inner, list) or len(inner) < 3 or inner[1] not in (1, 2):
        raise RpcError(3)
    media = call.world.media.get(inner[0]) if isinstance(inner[0], str) else None
    if media is None or media.owner != call.owner.spec.session_token or media.kind != "image":
        raise RpcError(5)
    check_ctx(call, inner[2], project=None, action="IMAGE_GENERATION")
    factor, tier = (2, "PAYGATE_TIER_ONE") if inner[1] == 1 else (4, "PAYGATE_TIER_TWO")
    if TIER_RANK[call.owner.spec.tier] < TIER_RANK[tier]:
        raise RpcError(7)
    size = pixel_size(media.aspect, scale=call.world.config.image_scale, factor=factor)
    return [list(size), base64.b64encode(render_jpeg(size, prompt=media.prompt, seed=media.seed)).decode()]


async def _unknown_rpc(call: Call, inner: Any, source_path: str) -> object:
    """An rpcid this fake does not serve: INVALID_ARGUMENT, as Flow answers unknown ids."""
    del call, inner, source_path
    raise RpcError(3)


RpcHandler = Callable[[Call, Any, str], Awaitable[object]]
RPCS: dict[str, RpcHandler] = {
    "ogiZ0b": generate_images,
    "maseQ": upload,
    "SPrCad": upscale_image,
    "YhhmEf": batch_video.submit,
    "eb1hJf": batch_video.submit,
    "nprQif": batch_video.submit,
    "MZZa6b": batch_video.submit,
    "fZytfe": batch_video.extend,
    "p0UkFb": batch_video.upscale,
    "jwpduf": batch_video.poll,
    "as29s": batch_video.media_record,
}


async def batchexecute(call: Call) -> web.StreamResponse:
    """The endpoint: session checks, then one RPC, answered as frames."""
    rpcid, inner = await _checked_request(call)
    call.stat_name = f"batch.{rpcid}"
    if call.fault_kind is not None and call.fault_kind not in JOB_KINDS:  # those shape the job instead
        return await _fault_frame(rpcid, call.fault_kind)
    handler = RPCS.get(rpcid, _unknown_rpc)
    try:
        payload = await handler(call, inner, call.request.query.get("source-path", ""))
    except RpcError as exc:
        return web.Response(text=frame_reply(rpcid, None, exc), content_type="application/json")
    return web.Response(text=frame_reply(rpcid, payload), content_type="application/json")


async def _checked_request(call: Call) -> tuple[str, Any]:
    if call.account is None:
        raise GoogleError(401, "UNAUTHENTICATED", "not signed in")
    if call.request.headers.get("x-same-domain") != "1":
        raise GoogleError(400, "INVALID_ARGUMENT", "x-same-domain required")
    form = await call.request.post()
    at, freq = str(form.get("at", "")), str(form.get("f.req", ""))
    owner = call.world.account_of_at(at)
    if owner is None:
        raise GoogleError(401, "UNAUTHENTICATED", "stale session")
    if owner is not call.account:
        raise GoogleError(400, "INVALID_ARGUMENT", "session of another account")
    if call.request.query.get("f.sid") != owner.page_sid:
        raise GoogleError(401, "UNAUTHENTICATED", "stale session")
    try:
        rpcid, inner_text, _, _ = json.loads(freq)[0][0]
        inner = json.loads(inner_text)
    except (ValueError, TypeError, IndexError, KeyError):
        raise GoogleError(400, "INVALID_ARGUMENT", "malformed f.req") from None
    wanted = call.request.query.get("rpcids")
    if wanted is not None and wanted != rpcid:
        raise GoogleError(400, "INVALID_ARGUMENT", "rpcids does not match f.req")
    return str(rpcid), inner


async def _fault_frame(rpcid: str, kind: str) -> web.StreamResponse:
    if kind not in FAULT_FRAMES:
        await raise_fault(Fault(f"batch.{rpcid}", kind))
    code, reason = FAULT_FRAMES[kind]
    return web.Response(
        text=frame_reply(rpcid, None, RpcError(code, reason)), content_type="application/json"
    )


ROUTES = (
    Route("POST", PATH, "batchexecute", "google", batchexecute, generation=True, faults_as_frames=True),
)
