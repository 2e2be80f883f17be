"""flow.google.com's one RPC endpoint (batchexecute), as flow-migration.md §2 describes it.

Form body ``f.req=…&at=…``, Google SSO cookie, ``x-same-domain: 1``. HTTP 401 when the cookie is
missing or the ``at``/``f.sid`` are stale; 400 when the ``at`` belongs to another account. RPC
outcomes are framed replies (``)]}'`` then length-prefixed ``wrb.fr`` frames); errors are
``google.rpc.Status`` lists as live captures show them: a bare ``[3]`` or ``[5]``, or
``[code, null, [[typeUrl, value]]]`` naming a ``PUBLIC_ERROR_*`` reason (``reasons.py``). Faults on
``batch.<rpcid>`` answer such frames; none is a reasonless ``[8]``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.simulator import batch_account, batch_followups, batch_images, batch_status, batch_video
from gateway.simulator.batchexecute_core import RpcError, frame_reply
from gateway.simulator.call import Call, Route
from gateway.simulator.errors import GoogleError
from gateway.simulator.faults import PLAYED_KINDS, Fault, raise_fault

PATH = "/_/AiSandboxAngularFrontend/data/batchexecute"
# The frames the plain fault kinds answer: (code, reason). The reason is an ErrorInfo string as the
# live captures carry it (USER_QUOTA_REACHED on MZZa6b, UNUSUAL_ACTIVITY on ogiZ0b).
FAULT_FRAMES: dict[str, tuple[int, str | None]] = {
    "rate_limited": (8, "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"),
    "recaptcha": (7, "PUBLIC_ERROR_UNUSUAL_ACTIVITY"),
    "unsafe": (3, "PUBLIC_ERROR_UNSAFE_GENERATION"),
    "internal": (13, None),
    "unavailable": (14, None),
    "quota": (8, "PUBLIC_ERROR_USER_QUOTA_REACHED"),
    "unauthenticated": (16, None),
}


async def _unknown_rpc(call: Call, inner: Any, source_path: str) -> object:
    """An rpcid this fake does not serve: INVALID_ARGUMENT, as Flow answers unknown ids."""
    del call, inner, source_path
    raise RpcError(3)


RpcHandler = Callable[[Call, Any, str], Awaitable[object]]
RPCS: dict[str, RpcHandler] = {
    "ogiZ0b": batch_images.generate_images,
    "maseQ": batch_images.upload,
    "SPrCad": batch_images.upscale_image,
    "YhhmEf": batch_video.submit,
    "eb1hJf": batch_video.submit,
    "nprQif": batch_video.submit,
    "MZZa6b": batch_video.submit,
    "fZytfe": batch_followups.extend,
    "jIps6": batch_followups.edit,
    "p0UkFb": batch_followups.upscale,
    "jwpduf": batch_status.poll,
    "as29s": batch_status.media_record,
    "HTrJv": batch_account.models,
    "nzlxg": batch_account.credits,
}


async def batchexecute(call: Call) -> web.StreamResponse:
    """The endpoint: session checks, then one RPC, answered as frames."""
    rpcid, inner = await _checked_request(call)
    call.stat_name, call.rpcid = f"batch.{rpcid}", rpcid
    if call.fault is not None and call.fault.kind not in PLAYED_KINDS:  # those shape the answer instead
        return await _fault_frame(rpcid, call.fault)
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


async def _fault_frame(rpcid: str, fault: Fault) -> web.StreamResponse:
    if fault.kind == "public_error" and fault.code is not None:
        error = RpcError(fault.code, fault.reason, fault.form or "string")
    elif fault.kind in FAULT_FRAMES:
        error = RpcError(*FAULT_FRAMES[fault.kind])
    else:
        await raise_fault(fault)  # HTTP-level kinds (hang, empty_400) fail the call itself
    return web.Response(text=frame_reply(rpcid, None, error), content_type="application/json")


ROUTES = (
    Route("POST", PATH, "batchexecute", "google", batchexecute, generation=True, faults_as_frames=True),
)
