"""``POST /v1/images/generations`` and ``POST /v1/images/edits``: HTTP in, ``ImagesResponse`` out."""

from __future__ import annotations

import asyncio
import hashlib
import time

import structlog
from aiohttp import web

from gateway import keys
from gateway.api.admission import admit_images, gate_of, images_usage
from gateway.api.departure import departure, left
from gateway.api.forms import limits_of, read_form
from gateway.api.render import Base64Bytes, json_response, media_url
from gateway.api.schemas import ImageParams, parse_image_request, truthy
from gateway.api.webhooks import image_task_webhook, refuse_webhook_url
from gateway.config import TaskSettings
from gateway.domain import Kind, ResponseFormat, TaskRecord, TaskStatus
from gateway.errors import NotFoundError
from gateway.media.images import output_format_of
from gateway.service.generation import ImageResult
from gateway.service.images import ImageOrder
from gateway.service.progress import estimate
from gateway.service.videos import new_task_id

GROUP_HEADER = "x-flow-account-group"
POLL_HEADER = "openai-poll-after-ms"
TASK_HEADER = "x-flow-task-id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
log = structlog.get_logger("gateway.api.images")


async def create_image(request: web.Request) -> web.Response:
    """Text (and optionally image) to image."""
    return await _handle(request, edit=False)


async def edit_image(request: web.Request) -> web.Response:
    """Image(s) plus prompt to image."""
    return await _handle(request, edit=True)


async def _handle(request: web.Request, *, edit: bool) -> web.Response:
    limits = limits_of(request)
    form = await read_form(request, limits)
    params = parse_image_request(form, edit=edit, max_images=limits.max_files)
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
    extra = {"response_format": params.response_format.value}
    if params.as_task or truthy(request.query.get("async")):
        extra.update(await image_task_webhook(request, form))
        record = await request.app[keys.IMAGE_TASKS].create(
            request.app[keys.TASKS], order, extra=extra, gate=gate_of(request)
        )
        return json_response(await render_image_task(request, record), status=202)
    refuse_webhook_url(request, form)
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    task_id = idempotent_task_id(order.owner, key) if key else new_task_id("imgtask")
    if key and (kept := await _kept(request, task_id)) is not None:
        return json_response(kept, headers={TASK_HEADER: task_id})  # the same order again: no new work
    order, admission = await admit_images(request, order)  # refused here: nothing fetched, nothing sent

    async def keep(results: list[ImageResult]) -> None:
        # Kept for retrieval: its client left (GET /v1/images/{id}), or may come back with the key.
        await request.app[keys.IMAGE_TASKS].keep(
            request.app[keys.TASKS], order, results, task_id=task_id, extra=extra
        )
        log.info("image_kept", task=task_id, departed=gone.is_set())

    # A client that leaves gets nothing more dispatched or retried. What was already dispatched
    # finishes and is kept if it can come back for it (an Idempotency-Key); otherwise nobody ever
    # could, and the call is abandoned at once.
    work = request.app[keys.IMAGES].run(order, departed=(gone := asyncio.Event()))
    job = asyncio.ensure_future(request.app[keys.QUOTA].metered(admission, work))  # settles its usage
    abandon = None if key else job.cancel
    async with departure(request, abandon, gone=gone):
        try:
            results = await asyncio.shield(job)
        except asyncio.CancelledError:  # left, on a server that cancels handlers of departed clients
            left(gone, abandon)
            if key:
                request.app[keys.LEFTOVERS].adopt(job, keep)
            raise
    if key or gone.is_set():
        await keep(results)
    usage = images_usage(admission.credits_each * len(results))  # what settling charged
    doc = {**_images_response(request, params, results), "usage": usage}
    return json_response(doc, headers={TASK_HEADER: task_id})


async def _kept(request: web.Request, task_id: str) -> dict[str, object] | None:
    """The response of an order already completed under the same ``Idempotency-Key``."""
    try:
        record = await request.app[keys.TASKS].get(task_id, owner=request[keys.LICENCE].id, kind=Kind.IMAGE)
    except NotFoundError:
        return None
    if record.status is not TaskStatus.COMPLETED:
        return None
    doc = await render_image_task(request, record)
    first = await request.app[keys.STORE].get_media(record.results[0]) if record.results else None
    fmt = output_format_of(first.mime) if first is not None else "jpeg"
    return {"created": int(record.created_at), "data": doc["data"], "output_format": fmt}


def idempotent_task_id(owner: str, key: str) -> str:
    """The task an ``Idempotency-Key`` names for a licence (derived, so no lookup table is needed)."""
    digest = hashlib.sha256(f"{owner}\n{key}".encode()).hexdigest()[:32]
    return f"imgtask_{digest}"


async def get_image_task(request: web.Request) -> web.Response:
    """``GET /v1/images/{id}``: an asynchronous image task (its images once completed)."""
    record = await request.app[keys.TASKS].get(
        request.match_info["task_id"], owner=request[keys.LICENCE].id, kind=Kind.IMAGE
    )
    headers = (
        {} if record.status.finished else {POLL_HEADER: str(request.app[keys.SETTINGS].tasks.poll_after_ms)}
    )
    return json_response(await render_image_task(request, record), headers=headers)


def image_task_object(record: TaskRecord, settings: TaskSettings) -> dict[str, object]:
    """An image task's fields other than its images (``data``, added once it is completed)."""
    return {
        "id": record.id,
        "object": "image.task",
        "model": record.model,
        "status": record.status.value,
        "progress": estimate(record, time.time(), settings),
        "created_at": int(record.created_at),
        "completed_at": int(record.completed_at) if record.completed_at else None,
        "prompt": record.prompt,
        "error": {"code": record.error_code, "message": record.error_message}
        if record.status is TaskStatus.FAILED
        else None,
    }


async def render_image_task(request: web.Request, record: TaskRecord) -> dict[str, object]:
    """An image task: status, and the ``ImagesResponse`` data (URL or b64, as ordered) when done."""
    doc = image_task_object(record, request.app[keys.SETTINGS].tasks)
    if record.status is TaskStatus.COMPLETED:
        as_b64 = record.order.get("response_format") == ResponseFormat.B64_JSON.value
        data: list[dict[str, object]] = []
        for media_id in record.results:
            if as_b64:
                raw = await request.app[keys.MEDIA].read(media_id) or b""
                data.append({"b64_json": Base64Bytes(raw), "revised_prompt": None})
            else:
                url = media_url(request, media_id, made_at=record.completed_at)
                data.append({"url": url, "revised_prompt": None})
        doc["data"] = data
    return doc


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
            url = media_url(request, result.media.id, made_at=result.media.created_at)
            data.append({"url": url, "revised_prompt": None})
        else:
            data.append({"b64_json": Base64Bytes(result.data), "revised_prompt": None})
    first = results[0].media
    return {
        "created": int(time.time()),
        "data": data,
        "output_format": output_format_of(first.mime),
    }
