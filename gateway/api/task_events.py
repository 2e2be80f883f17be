"""The body of a webhook: a finished task as the API renders it, for the webhook service.

The task object is exactly what ``GET /v1/videos/{id}`` or ``GET /v1/images/{id}`` returns, except
that images are always URLs (signed, on ``[server] public_url`` or the origin the creating request
saw): a delivery is kept in the store and may be retried for hours, which megabytes of base64 per
delivery would not survive well; the receiver can fetch the task itself for another form.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.images import image_task_object
from gateway.api.render import signed_media_url
from gateway.api.videos import video_object
from gateway.api.webhooks import PUBLIC_BASE
from gateway.domain import Kind, TaskRecord, TaskStatus
from gateway.service.webhooks import TaskRenderer


def task_event_renderer(app: web.Application) -> TaskRenderer:
    """The webhook service's renderer (see the module)."""

    async def render(record: TaskRecord) -> dict[str, object]:
        settings = app[keys.SETTINGS]
        if record.kind is Kind.VIDEO:
            return video_object(record, settings.tasks)
        doc = image_task_object(record, settings.tasks)
        if record.status is TaskStatus.COMPLETED:
            base = settings.server.public_url.rstrip("/") or str(record.order.get(PUBLIC_BASE) or "")
            doc["data"] = [
                {
                    "url": signed_media_url(app, base, media_id, made_at=record.completed_at),
                    "revised_prompt": None,
                }
                for media_id in record.results
            ]
        return doc

    return render
