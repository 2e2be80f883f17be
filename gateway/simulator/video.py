"""aisandbox-pa video: submits of every kind, batched status polls, media fetch (flow-protocol.md §7, §8).

Jobs progress with time (``video_duration``): PENDING, ACTIVE, then SUCCESSFUL, or FAILED when
a ``video_failed`` fault was scripted for the submit. Keys are checked against the REST-era set,
``_ultra`` and relaxed keys need an Ultra account.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from aiohttp import web

from gateway.simulator.aisandbox import check_context, take_token
from gateway.simulator.call import Call, Route
from gateway.simulator.errors import GoogleError, invalid, json_reply, not_found
from gateway.simulator.state import Media
from gateway.simulator.timeline import FAILED, video_status

METHODS = ("Text", "StartImage", "StartAndEndImage", "ReferenceImages", "ExtendVideo", "UpsampleVideo")
ASPECTS = {"VIDEO_ASPECT_RATIO_LANDSCAPE", "VIDEO_ASPECT_RATIO_PORTRAIT"}
_BASES = [
    "veo_3_1_t2v_fast",
    "veo_3_1_t2v_fast_portrait",
    "veo_3_1_t2v_fast_4s",
    "veo_3_1_t2v_fast_6s",
    "veo_3_1_t2v",
    "veo_3_1_t2v_portrait",
    "veo_3_1_t2v_quality_4s",
    "veo_3_1_t2v_quality_6s",
    "veo_3_1_t2v_lite",
    "veo_3_1_t2v_lite_4s",
    "veo_3_1_t2v_lite_6s",
    "veo_3_1_i2v_s_fast_fl",
    "veo_3_1_i2v_s_fast_portrait_fl",
    "veo_3_1_i2v_s_fast",
    "veo_3_1_i2v_s_fast_portrait",
    "veo_3_1_i2v_s_fast_4s_fl",
    "veo_3_1_i2v_s_fast_6s_fl",
    "veo_3_1_i2v_s_fl",
    "veo_3_1_i2v_s_portrait_fl",
    "veo_3_1_i2v_s",
    "veo_3_1_i2v_s_portrait",
    "veo_3_1_i2v_s_quality_4s_fl",
    "veo_3_1_i2v_s_quality_6s_fl",
    "veo_3_1_i2v_lite",
    "veo_3_1_i2v_s_lite_4s",
    "veo_3_1_i2v_s_lite_6s",
    "veo_3_1_interpolation_lite",
    "veo_3_1_i2v_s_lite_4s_fl",
    "veo_3_1_i2v_s_lite_6s_fl",
    "veo_3_1_r2v_fast_landscape",
    "veo_3_1_r2v_fast_portrait",
    "veo_3_1_extend_landscape",
    "veo_3_1_extend_portrait",
    "veo_3_1_upsampler_1080p",
    "veo_3_1_upsampler_4k",
]
ULTRA_KEYS = {
    "veo_3_1_t2v_fast_ultra",
    "veo_3_1_t2v_fast_portrait_ultra",
    "veo_3_1_t2v_fast_ultra_relaxed",
    "veo_3_1_t2v_fast_portrait_ultra_relaxed",
    "veo_3_1_i2v_s_fast_ultra_fl",
    "veo_3_1_i2v_s_fast_portrait_ultra_fl",
    "veo_3_1_i2v_s_fast_ultra_relaxed",
    "veo_3_1_i2v_s_fast_portrait_ultra_relaxed",
    "veo_3_1_r2v_fast_landscape_ultra",
    "veo_3_1_r2v_fast_portrait_ultra",
    "veo_3_1_r2v_fast_landscape_ultra_relaxed",
    "veo_3_1_r2v_fast_portrait_ultra_relaxed",
    "veo_3_1_upsampler_4k",
}
KNOWN_KEYS = set(_BASES) | ULTRA_KEYS


def _speed(key: str) -> str:
    for speed in ("relaxed", "lite", "fast"):
        if speed in key:
            return speed
    return "upsample" if "upsampler" in key else "quality"


def _check_request(call: Call, method: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or item.get("aspectRatio") not in ASPECTS:
        shown = item.get("aspectRatio") if isinstance(item, dict) else None
        raise invalid(f"Invalid value at 'requests[0].aspect_ratio' ({shown!r})")
    key = item.get("videoModelKey")
    if key not in KNOWN_KEYS:
        raise invalid(f"Invalid value at 'requests[0].video_model_key' ({key!r})")
    if key in ULTRA_KEYS and call.owner.spec.tier != "PAYGATE_TIER_TWO":
        raise GoogleError(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
            reason="PUBLIC_ERROR_TIER_NOT_ALLOWED",
        )
    if method != "UpsampleVideo" and not _prompt(item):
        raise invalid("textInput.structuredPrompt.parts[].text is required")
    for ref in _media_refs(method, item):
        kinds = ("video",) if method in ("ExtendVideo", "UpsampleVideo") else ("upload", "image")
        call.world.owned_media(call.owner, ref, kinds)
    return item


def _prompt(item: dict[str, Any]) -> str:
    parts = ((item.get("textInput") or {}).get("structuredPrompt") or {}).get("parts")
    if not isinstance(parts, list):
        return ""
    return " ".join(p.get("text", "") for p in parts if isinstance(p, dict))


def _media_refs(method: str, item: dict[str, Any]) -> list[Any]:
    if method == "StartImage":
        return [(item.get("startImage") or {}).get("mediaId")]
    if method == "StartAndEndImage":
        return [(item.get("startImage") or {}).get("mediaId"), (item.get("endImage") or {}).get("mediaId")]
    if method == "ReferenceImages":
        refs = item.get("referenceImages")
        if not isinstance(refs, list) or not 1 <= len(refs) <= 3:
            raise invalid("referenceImages must hold 1 to 3 images")
        return [r.get("mediaId") if isinstance(r, dict) else None for r in refs]
    if method in ("ExtendVideo", "UpsampleVideo"):
        return [(item.get("videoInput") or {}).get("mediaId")]
    return []


async def submit(call: Call) -> web.StreamResponse:
    """``video:batchAsyncGenerateVideo<Method>``."""
    method = call.request.match_info["method"]
    if method not in METHODS:
        raise not_found(f"Method not found: batchAsyncGenerateVideo{method}")
    body = await call.body()
    ctx = body.get("clientContext")
    project_id = check_context(call, ctx, captcha_action="VIDEO_GENERATION")
    requests = body.get("requests")
    if not isinstance(requests, list) or len(requests) != 1:
        raise invalid("requests must hold exactly one entry")
    item = _check_request(call, method, requests[0])
    take_token(call, [ctx], "VIDEO_GENERATION")
    call.world.spend(call.owner, call.world.config.video_credits.get(_speed(item["videoModelKey"]), 0))
    fail = (13, "Internal error encountered.", "PUBLIC_ERROR_AUDIO_FILTERED") if call.fault_kind else None
    media = call.world.add_media(
        Media(
            str(uuid.uuid4()),
            "video",
            call.owner.spec.session_token,
            project_id,
            aspect=item["aspectRatio"],
            prompt=_prompt(item),
            seed=item.get("seed", 1),
            model=item["videoModelKey"],
            fail=fail,
        )
    )
    batch = (body.get("mediaGenerationContext") or {}).get("batchId", str(uuid.uuid4()))
    return json_reply(
        {
            "remainingCredits": call.owner.credits,
            "workflows": [
                {
                    "name": str(uuid.uuid4()),
                    "projectId": project_id,
                    "metadata": {"primaryMediaId": media.name, "batchId": batch},
                }
            ],
            "media": [_entry(call, media)],
        }
    )


def _entry(call: Call, media: Media) -> dict[str, Any]:
    status = video_status(media, call.world.config)
    entry: dict[str, Any] = {
        "name": media.name,
        "projectId": media.project_id,
        "mediaMetadata": {"mediaStatus": {"mediaGenerationStatus": status}},
    }
    if status == FAILED and media.fail is not None:
        code, message, reason = media.fail
        entry["mediaMetadata"]["mediaStatus"]["error"] = {"code": code, "message": message, "reason": reason}
    elif status.endswith("SUCCESSFUL"):
        entry["video"] = {"generatedVideo": {"model": media.model}, "operation": {"name": media.name}}
        entry["mediaBlobSize"] = len(_mp4(call, media))
    return entry


async def status(call: Call) -> web.StreamResponse:
    """``video:batchCheckAsyncVideoGenerationStatus``: many jobs per call; projectId is mandatory."""
    body = await call.body()
    wanted = body.get("media")
    if not isinstance(wanted, list) or not wanted:
        raise invalid("media must be a non-empty list")
    entries = []
    for ref in wanted:
        if not isinstance(ref, dict) or not isinstance(ref.get("projectId"), str):
            raise invalid("media[].projectId is required")
        media = call.world.owned_media(call.owner, ref.get("name"), ("video",))
        if media.project_id != ref["projectId"]:
            raise invalid("media[].projectId does not match")
        entries.append(_entry(call, media))
    return json_reply({"media": entries})


def _mp4(call: Call, media: Media) -> bytes:
    return call.world.video_bytes(media)


async def media_get(call: Call) -> web.StreamResponse:
    """``GET /v1/media/{name}``: the finished video inline as base64."""
    media = call.world.owned_media(call.owner, call.request.match_info["name"], ("video",))
    if video_status(media, call.world.config) != "MEDIA_GENERATION_STATUS_SUCCESSFUL":
        raise not_found("Media is not ready.")
    return json_reply(
        {
            "name": media.name,
            "video": {
                "encodedVideo": base64.b64encode(_mp4(call, media)).decode(),
                "seed": media.seed,
                "prompt": media.prompt,
                "model": media.model,
                "aspectRatio": media.aspect,
            },
        }
    )


def video_bytes(call: Call, media: Media) -> bytes:
    """The mp4 of a finished video (for the CDN route)."""
    return _mp4(call, media)


ROUTES = (
    Route(
        "POST", "/v1/video:batchAsyncGenerateVideo{method}", "video.submit", "bearer", submit, generation=True
    ),
    Route("POST", "/v1/video:batchCheckAsyncVideoGenerationStatus", "video.status", "bearer", status),
    Route("GET", "/v1/media/{name}", "media.get", "bearer", media_get),
)
