"""``/v1/videos``: create (JSON or multipart), retrieve, list, delete, download content, remix.

Retrieval answers from the gateway's own task state (never a call to Flow) with
``openai-poll-after-ms`` while a video is not finished; content is the stored mp4 (or its poster),
with ``Content-Length`` and ``Range``. A video of another licence does not exist (404).
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway import keys
from gateway.api.admission import gate_of
from gateway.api.forms import limits_of, read_form
from gateway.api.images import header_groups
from gateway.api.media import media_response
from gateway.api.render import json_response
from gateway.api.video_schemas import parse_remix_request, parse_video_request
from gateway.api.webhooks import webhook_url_of
from gateway.config import TaskSettings
from gateway.domain import Kind, TaskRecord, TaskStatus
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.service.progress import estimate
from gateway.service.video_followups import FollowUp
from gateway.service.videos import VideoOrder
from gateway.store.base import TaskQuery

POLL_HEADER = "openai-poll-after-ms"
MAX_LIMIT = 100
VARIANTS = ("video", "thumbnail", "spritesheet")
# The Video object's ``mode``: a first frame, or a first and a last, are both ``frames``.
MODES = {
    "text": "text",
    "start": "frames",
    "start_end": "frames",
    "references": "references",
    "extend": "extend",
    "edit": "edit",
}


def render_video(request: web.Request, record: TaskRecord) -> dict[str, object]:
    """The OpenAI ``Video`` object (every key the spec requires, nullable ones as null)."""
    return video_object(record, request.app[keys.SETTINGS].tasks)


def video_object(record: TaskRecord, settings: TaskSettings) -> dict[str, object]:
    """:func:`render_video` without a request (a webhook's body)."""
    failed = record.status is TaskStatus.FAILED
    doc: dict[str, object] = {
        "id": record.id,
        "object": "video",
        "model": record.model,
        "status": record.status.value,
        "progress": estimate(record, time.time(), settings),
        "created_at": int(record.created_at),
        "completed_at": int(record.completed_at) if record.completed_at else None,
        "expires_at": None,
        "prompt": record.prompt,
        "seconds": str(record.order.get("seconds") or 8),
        "size": str(record.order.get("size") or ""),
        "remixed_from_video_id": record.remixed_from or None,
        "error": {"code": record.error_code, "message": record.error_message} if failed else None,
        # Our extra field: what the video was made from (so ``veo_3_1`` with images says which ran).
        "mode": MODES.get(str(record.order.get("mode") or ""), "text"),
    }
    if record.status is TaskStatus.COMPLETED and record.error_message:
        doc["notice"] = record.error_message
    return doc


def _video_response(request: web.Request, record: TaskRecord) -> web.Response:
    headers = {}
    if not record.status.finished:
        headers[POLL_HEADER] = str(request.app[keys.SETTINGS].tasks.poll_after_ms)
    return json_response(render_video(request, record), headers=headers)


async def create_video(request: web.Request) -> web.Response:
    """``POST /v1/videos``: a queued task, at once."""
    params = parse_video_request(form := await read_form(request, limits_of(request)))
    order = VideoOrder(
        model=params.model,
        prompt=params.prompt,
        owner=request[keys.LICENCE].id,
        seconds=params.seconds,
        size=params.size,
        quality=params.quality,
        sources=params.sources,
        groups=header_groups(request),
        webhook_url=await webhook_url_of(request, form),
    )
    record = await request.app[keys.VIDEOS].create(order, gate=gate_of(request))
    return _video_response(request, record)


async def get_video(request: web.Request) -> web.Response:
    """``GET /v1/videos/{id}``."""
    record = await request.app[keys.TASKS].get(
        request.match_info["video_id"], owner=request[keys.LICENCE].id, kind=Kind.VIDEO
    )
    return _video_response(request, record)


async def list_videos(request: web.Request) -> web.Response:
    """``GET /v1/videos?after=&limit=&order=``: the caller's videos, newest first by default."""
    raw_limit, order = request.query.get("limit", "20"), request.query.get("order", "desc")
    # ASCII digits only: "²".isdigit() is true, and int() refuses it
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 0 <= int(raw_limit) <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be an integer from 0 to {MAX_LIMIT}", param="limit")
    if order not in ("asc", "desc"):
        raise InvalidRequestError("order must be 'asc' or 'desc'", param="order")
    query = TaskQuery(
        owner=request[keys.LICENCE].id,
        kind=Kind.VIDEO,
        limit=int(raw_limit),
        after=request.query.get("after") or None,
        descending=order == "desc",
    )
    records, more = await request.app[keys.TASKS].list(query)
    data = [render_video(request, r) for r in records]
    return json_response(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": more,
        }
    )


async def delete_video(request: web.Request) -> web.Response:
    """``DELETE /v1/videos/{id}``: the task and its stored media are forgotten."""
    record = await request.app[keys.TASKS].delete(
        request.match_info["video_id"], owner=request[keys.LICENCE].id, kind=Kind.VIDEO
    )
    return json_response({"id": record.id, "object": "video.deleted", "deleted": True})


async def video_content(request: web.Request) -> web.StreamResponse:
    """``GET /v1/videos/{id}/content?variant=video|thumbnail``: streamed, ``Range`` honoured (206)."""
    variant = request.query.get("variant", "video")
    if variant not in VARIANTS:
        raise InvalidRequestError("variant must be video, thumbnail or spritesheet", param="variant")
    record = await request.app[keys.TASKS].get(
        request.match_info["video_id"], owner=request[keys.LICENCE].id, kind=Kind.VIDEO
    )
    if record.status is not TaskStatus.COMPLETED:
        # 400, never 409: the SDK retries 409 on its own.
        raise InvalidRequestError(
            f"video {record.id} is {record.status.value}; its content exists once it is completed",
            param="video_id",
            code="video_not_ready",
        )
    media_id = {"video": record.results[0] if record.results else "", "thumbnail": record.poster}.get(
        variant, ""
    )
    response = await media_response(request, media_id)
    if response is None:
        raise NotFoundError(f"video {record.id} has no {variant}", param="variant")
    return response


async def remix_video(request: web.Request) -> web.Response:
    """``POST /v1/videos/{id}/remix``: a new video from a finished one (``extend``: its continuation)."""
    params = parse_remix_request(form := await read_form(request, limits_of(request)))
    ask = FollowUp(
        request.match_info["video_id"],
        request[keys.LICENCE].id,
        params.prompt,
        model=params.model,
        groups=header_groups(request),
        param="video_id",
        gate=gate_of(request),
        webhook_url=await webhook_url_of(request, form),
    )
    record = await request.app[keys.VIDEO_FOLLOWUPS].remix(ask)
    return _video_response(request, record)
