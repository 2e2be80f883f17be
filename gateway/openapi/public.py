"""The OpenAI surface's operations (``/v1`` and ``/flow/v1``), with the probes and this document."""

from __future__ import annotations

from aiohttp.typedefs import Handler

from gateway.api import bodies as b
from gateway.api import chat, health, images, media, models, usage, video_followups, videos, workers
from gateway.api.images import GROUP_HEADER, IDEMPOTENCY_HEADER
from gateway.api.webhooks import WEBHOOK_HEADER
from gateway.openapi import objects as o
from gateway.openapi.spec import (
    CSV,
    JSON,
    PARTIAL,
    SSE,
    Auth,
    Operation,
    Reply,
    files,
    header,
    ok,
    query,
)
from gateway.service.quota.report import FORMATS, MAX_RECORDS
from gateway.wire import Either, Flag, Integer, Text

GROUPS = header(GROUP_HEADER, "Account groups to serve this request (``a,b``), within the licence's.")
WEBHOOK = header(WEBHOOK_HEADER, "Our extension: the task's webhook URL (the body's ``webhook_url`` wins).")
IDEMPOTENCY = header(
    IDEMPOTENCY_HEADER, "The same order again answers the kept result (no new work) while it is kept."
)
ASYNC = query(
    "async", Either((Flag(), Text(enum=("true", "false", "1", "0")))), "``true``: answer 202 with a task."
)
RANGE = header("Range", "One byte range (``bytes=first-last``); 416 when it cannot be served.")
VIDEO_QUEUED = ok(o.VIDEO, "The video, queued (``openai-poll-after-ms`` says when to look again).")
USAGE_PARAMS = (
    query("group_by", Text(examples=("day", "model,day")), "Comma-separated group names."),
    query(
        "since",
        Text(examples=("2026-12-01",)),
        "Unix seconds or a UTC date (default: this month's first day).",
    ),
    query("until", Text(), "Exclusive: Unix seconds or a UTC date."),
    query("model", Text()),
    query("kind", Text(examples=("image", "video"))),
    query("format", Text(enum=FORMATS)),
    query("limit", Integer(1, MAX_RECORDS)),
    query("after", Text(), "Records after this id."),
)
_IMAGE_ANSWERS = (
    ok(o.IMAGES_RESPONSE, "The images."),
    ok(o.IMAGE_TASK, "``async``: the task, queued.", status=202),
)

OPERATIONS: dict[Handler, Operation] = {
    chat.chat_completions: Operation(
        "Chat completions for image and video models",
        "OpenAI: chat",
        (
            Reply(
                200,
                "The completion, or server-sent events (``stream``).",
                ((JSON, o.CHAT_COMPLETION), (SSE, None)),
            ),
        ),
        body=b.CHAT,
        body_required=True,
        params=(GROUPS,),
    ),
    images.create_image: Operation(
        "Create images",
        "OpenAI: images",
        _IMAGE_ANSWERS,
        body=b.IMAGE_GENERATION,
        body_required=True,
        forms=True,
        params=(ASYNC, GROUPS, WEBHOOK, IDEMPOTENCY),
    ),
    images.edit_image: Operation(
        "Edit images",
        "OpenAI: images",
        _IMAGE_ANSWERS,
        body=b.IMAGE_EDIT,
        body_required=True,
        forms=True,
        params=(ASYNC, GROUPS, WEBHOOK, IDEMPOTENCY),
    ),
    images.get_image_task: Operation(
        "Retrieve an image task", "OpenAI: images", (ok(o.IMAGE_TASK),), description="Our extension."
    ),
    videos.create_video: Operation(
        "Create a video",
        "OpenAI: videos",
        (VIDEO_QUEUED,),
        body=b.VIDEO,
        body_required=True,
        forms=True,
        params=(GROUPS, WEBHOOK),
    ),
    videos.list_videos: Operation(
        "List videos",
        "OpenAI: videos",
        (ok(o.VIDEO_LIST),),
        params=(
            query("after", Text(), "The id of the last video of the previous page."),
            query("limit", Integer(0, videos.MAX_LIMIT)),
            query("order", Text(enum=("asc", "desc"))),
        ),
    ),
    video_followups.extend_video: Operation(
        "Extend a video",
        "OpenAI: videos",
        (VIDEO_QUEUED,),
        body=b.VIDEO_EXTENSION,
        body_required=True,
        forms=True,
        params=(GROUPS, WEBHOOK),
    ),
    video_followups.edit_video: Operation(
        "Edit a video",
        "OpenAI: videos",
        (VIDEO_QUEUED,),
        body=b.VIDEO_EDIT,
        body_required=True,
        forms=True,
        params=(GROUPS, WEBHOOK),
    ),
    videos.get_video: Operation("Retrieve a video", "OpenAI: videos", (ok(o.VIDEO),)),
    videos.delete_video: Operation("Delete a video", "OpenAI: videos", (ok(o.VIDEO_DELETED),)),
    videos.video_content: Operation(
        "Download a video's content",
        "OpenAI: videos",
        (files("The mp4 (or its thumbnail)."), PARTIAL),
        params=(query("variant", Text(enum=videos.VARIANTS)), RANGE),
    ),
    videos.remix_video: Operation(
        "Remix a video",
        "OpenAI: videos",
        (VIDEO_QUEUED,),
        body=b.VIDEO_REMIX,
        body_required=True,
        forms=True,
        params=(GROUPS, WEBHOOK),
    ),
    models.list_models: Operation(
        "List models",
        "OpenAI: models",
        (ok(o.MODEL_LIST),),
        params=(
            query(
                "all",
                Text(examples=("true",)),
                "``true`` or ``1``: the whole catalogue (else: what can be served now).",
            ),
        ),
    ),
    models.get_model: Operation(
        "Retrieve a model, variant or alias",
        "OpenAI: models",
        (Reply(200, "The model.", ((JSON, Either((o.MODEL, o.MODEL_VARIANT))),)),),
    ),
    media.get_media: Operation(
        "Download a result",
        "OpenAI: media",
        (files("The stored file."), PARTIAL),
        params=(query("expires", Text()), query("signature", Text()), RANGE),
        auth=Auth.SIGNED,
        description="By signed URL (``expires`` and ``signature``: no licence needed), or by its "
        "owner's licence.",
    ),
    workers.worker_socket: Operation(
        "Browser worker socket",
        "Workers",
        (Reply(101, "Switching protocols: a WebSocket of the worker protocol."),),
        auth=Auth.WORKER,
        description="A WebSocket (not a REST call): browser workers connect here with the worker "
        "secret; 404 unless ``[workers] secret`` is set.",
    ),
    usage.get_usage: Operation(
        "Your usage",
        "Licence",
        (Reply(200, "Usage summed by group.", ((JSON, o.USAGE_REPORT), (CSV, None))),),
        params=USAGE_PARAMS,
        description="Our extension: the caller's own usage (never another licence's).",
    ),
    usage.get_licence: Operation(
        "Your licence",
        "Licence",
        (ok(o.HOLDER_LICENCE),),
        description="Our extension: limits and what is left.",
    ),
    health.healthz: Operation("Liveness", "Probes", (ok(o.HEALTH),), auth=Auth.NONE),
    health.readyz: Operation(
        "Readiness",
        "Probes",
        (ok(o.READY), ok(o.READY, "Not ready.", status=503)),
        auth=Auth.NONE,
    ),
}
# Handlers made per app (closures) are found by path instead.
BY_PATH: dict[str, Operation] = {
    "/metrics": Operation(
        "Prometheus metrics",
        "Probes",
        (Reply(200, "Metrics, text format.", (("text/plain", None),)),),
        auth=Auth.NONE,
    ),
}
