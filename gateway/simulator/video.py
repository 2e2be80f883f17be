"""aisandbox-pa video: submits of every kind, batched status polls, media fetch (flow-protocol.md §7, §8).

Jobs progress with time (``video_duration``): PENDING, ACTIVE, then SUCCESSFUL, or FAILED (with the
fault's reason) when a ``video_failed`` fault was scripted for the submit; a ``video_stuck`` fault
keeps the job ACTIVE forever. Bodies are checked against the §7 envelope
(``mediaGenerationContext.batchId``, ``useV2ModelConfig: true``, a clientContext carrying the
account's ``userPaygateTier`` and a ``VIDEO_GENERATION`` token, exactly one request); keys, methods,
orientation and tiers follow ``video_keys``. Where the FAILED error sits in the new schema is
flow2api's assumption (``mediaMetadata.mediaStatus.error``, open question 5), followed here.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.simulator import video_keys as keys
from gateway.simulator.aisandbox import check_context, take_token
from gateway.simulator.call import Call, Route
from gateway.simulator.errors import invalid, json_reply, not_found, tier_refused
from gateway.simulator.state import Media
from gateway.simulator.timeline import FAILED, SUCCESSFUL

METHODS = ("Text", "StartImage", "StartAndEndImage", "ReferenceImages", "ExtendVideo", "UpsampleVideo")


def _dig(doc: Any, *path: str) -> Any:
    """Walk nested objects; None as soon as a step is missing or not an object."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _check_envelope(call: Call, body: dict[str, Any]) -> str:
    """The §7 envelope; returns the project id (the token is checked later, once the body is valid)."""
    ctx = body.get("clientContext")
    project_id = check_context(call, ctx, captcha_action="VIDEO_GENERATION")
    if _dig(ctx, "userPaygateTier") != call.owner.spec.tier:
        raise invalid("clientContext.userPaygateTier must be the account's tier")
    if not isinstance(_dig(body, "mediaGenerationContext", "batchId"), str):
        raise invalid("mediaGenerationContext.batchId is required")
    if body.get("useV2ModelConfig") is not True:
        raise invalid("useV2ModelConfig must be true")
    requests = body.get("requests")
    if not isinstance(requests, list) or len(requests) != 1 or not isinstance(requests[0], dict):
        raise invalid("requests must hold exactly one entry")
    return project_id


def _check_model(call: Call, method: str, item: dict[str, Any]) -> str:
    aspect, key = item.get("aspectRatio"), item.get("videoModelKey")
    if aspect not in keys.ASPECTS:
        raise invalid(f"Invalid value at 'requests[0].aspect_ratio' ({aspect!r})")
    if not isinstance(key, str) or key not in keys.KNOWN_KEYS:
        raise invalid(f"Invalid value at 'requests[0].video_model_key' ({key!r})")
    if method not in keys.methods_for(key) or not keys.orientation_ok(key, aspect):
        raise invalid(f"Model {key!r} cannot be used with batchAsyncGenerateVideo{method} and {aspect}")
    if keys.needs_ultra(key) and call.owner.spec.tier != "PAYGATE_TIER_TWO":
        raise tier_refused()
    if not isinstance(item.get("seed"), int) or not isinstance(item.get("metadata"), dict):
        raise invalid("requests[0].seed (integer) and requests[0].metadata are required")
    return key


def _check_request(call: Call, method: str, item: dict[str, Any]) -> Media | None:
    """Validate one request; returns the source video for extend and upsample."""
    key = _check_model(call, method, item)
    if method == "UpsampleVideo":
        if keys.UPSAMPLE_RESOLUTIONS.get(item.get("resolution")) != key:  # type: ignore[arg-type]
            raise invalid(f"Invalid value at 'requests[0].resolution' ({item.get('resolution')!r})")
        if not isinstance(_dig(item, "metadata", "sceneId"), str):
            raise invalid("requests[0].metadata.sceneId is required")
    elif not _prompt(item):
        raise invalid("textInput.structuredPrompt.parts[].text is required")
    if method == "ExtendVideo" and not isinstance(_dig(item, "metadata", "workflowId"), str):
        raise invalid("requests[0].metadata.workflowId is required")
    for ref in _image_refs(method, item):
        call.world.owned_media(call.owner, ref, ("upload", "image"))
    if method not in ("ExtendVideo", "UpsampleVideo"):
        return None
    source = call.world.owned_media(call.owner, _dig(item, "videoInput", "mediaId"), ("video",))
    if call.video_status(source) != SUCCESSFUL:
        raise invalid("videoInput.mediaId is not a finished video")
    return source


def _prompt(item: dict[str, Any]) -> str:
    parts = _dig(item, "textInput", "structuredPrompt", "parts")
    if not isinstance(parts, list):
        return ""
    return " ".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _image_refs(method: str, item: dict[str, Any]) -> list[Any]:
    if method == "StartImage":
        return [_dig(item, "startImage", "mediaId")]
    if method == "StartAndEndImage":
        return [_dig(item, "startImage", "mediaId"), _dig(item, "endImage", "mediaId")]
    if method == "ReferenceImages":
        refs = item.get("referenceImages")
        if not isinstance(refs, list) or not 1 <= len(refs) <= 3:
            raise invalid("referenceImages must hold 1 to 3 images")
        if any(_dig(r, "imageUsageType") != "IMAGE_USAGE_TYPE_ASSET" for r in refs):
            raise invalid("referenceImages[].imageUsageType must be IMAGE_USAGE_TYPE_ASSET")
        return [_dig(r, "mediaId") for r in refs]
    return []


async def submit(call: Call) -> web.StreamResponse:
    """``video:batchAsyncGenerateVideo<Method>`` (JSON sent as application/json or text/plain)."""
    method = call.request.match_info["method"]
    if method not in METHODS:
        raise not_found(f"Method not found: batchAsyncGenerateVideo{method}")
    body = await call.body()
    project_id = _check_envelope(call, body)
    item = body["requests"][0]
    source = _check_request(call, method, item)
    take_token(call, [body["clientContext"]], "VIDEO_GENERATION")
    key = item["videoModelKey"]
    call.world.spend(call.owner, call.world.config.video_credits.get(keys.cost_class(key), 0))
    media = call.world.add_media(
        Media(
            str(uuid.uuid4()),
            "video",
            call.owner.spec.session_token,
            project_id,
            aspect=item["aspectRatio"],
            prompt=_prompt(item) or (source.prompt if source else ""),
            seed=item["seed"],
            model=key,
            fail=call.job_failure(),
            stuck=call.job_stuck,
        )
    )
    return json_reply(
        {
            "remainingCredits": call.owner.credits,
            "workflows": [_workflow(media, body["mediaGenerationContext"]["batchId"])],
            "media": [_entry(call, media)],
        }
    )


def _workflow(media: Media, batch_id: str) -> dict[str, Any]:
    stamp = _iso(media.created)
    return {
        "name": str(uuid.uuid4()),
        "projectId": media.project_id,
        "metadata": {
            "displayName": media.prompt[:40],
            "createTime": stamp,
            "updateTime": stamp,
            "primaryMediaId": media.name,
            "batchId": batch_id,
        },
    }


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry(call: Call, media: Media) -> dict[str, Any]:
    status = call.video_status(media)
    entry: dict[str, Any] = {
        "name": media.name,
        "projectId": media.project_id,
        "mediaMetadata": {"mediaStatus": {"mediaGenerationStatus": status}},
    }
    if status == FAILED and media.fail is not None:
        fail = media.fail
        entry["mediaMetadata"]["mediaStatus"]["error"] = {
            "code": fail.code,
            "message": fail.message,
            "reason": fail.reason,
        }
    elif status == SUCCESSFUL:
        entry["video"] = {
            "generatedVideo": {"model": media.model, "aspectRatio": media.aspect, "seed": media.seed},
            "operation": {"name": media.name},
        }
        entry["mediaBlobSize"] = len(call.world.video_bytes(media))
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


async def media_get(call: Call) -> web.StreamResponse:
    """``GET /v1/media/{name}``: the finished video inline as base64."""
    media = call.world.media.get(call.request.match_info["name"])
    if media is None or media.owner != call.owner.spec.session_token or media.kind != "video":
        raise not_found()
    if call.video_status(media) != SUCCESSFUL:
        raise not_found("Media is not ready.")
    return json_reply(
        {
            "name": media.name,
            "video": {
                "encodedVideo": base64.b64encode(call.world.video_bytes(media)).decode(),
                "seed": media.seed,
                "prompt": media.prompt,
                "model": media.model,
                "aspectRatio": media.aspect,
            },
        }
    )


def video_bytes(call: Call, media: Media) -> bytes:
    """The mp4 of a finished video (for the CDN route)."""
    return call.world.video_bytes(media)


ROUTES = (
    Route(
        "POST", "/v1/video:batchAsyncGenerateVideo{method}", "video.submit", "bearer", submit, generation=True
    ),
    Route("POST", "/v1/video:batchCheckAsyncVideoGenerationStatus", "video.status", "bearer", status),
    Route("GET", "/v1/media/{name}", "media.get", "bearer", media_get),
)
