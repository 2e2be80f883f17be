"""``/admin/tasks``: every licence's tasks (videos, asynchronous images), one task inspected, and a
task cancelled before it was submitted to Flow.

The public routes show a licence only its own tasks; this is the operator's view across licences,
behind the admin key. The rules (what may be cancelled, and when) live in the task engine.
"""

from __future__ import annotations

from typing import TypeVar

import orjson
from aiohttp import web

from gateway import keys
from gateway.admin.render import json_response
from gateway.domain import Kind, TaskRecord, TaskStatus
from gateway.errors import InvalidRequestError
from gateway.store.base import TaskQuery
from gateway.store.tasks_codec import task_to_json

MAX_PAGE = 500
CANCEL_REASON = "cancelled by an operator before it was submitted to Flow"


E = TypeVar("E", Kind, TaskStatus)


def _choice(request: web.Request, name: str, enum: type[E]) -> E | None:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidRequestError(f"{name} must be one of: {allowed}", param=name) from None


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "50")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:  # "²".isdigit()
        raise InvalidRequestError(f"limit must be from 1 to {MAX_PAGE}", param="limit")
    return int(raw)


def render_task(record: TaskRecord) -> dict[str, object]:
    """A task as the store keeps it (nothing in a task is a secret), tagged for the admin API."""
    doc: dict[str, object] = orjson.loads(task_to_json(record))
    doc["object"] = "flow.task"
    return doc


async def list_tasks(request: web.Request) -> web.Response:
    """``GET /admin/tasks?owner=&kind=&status=&limit=&after=`` (newest first; ``after`` a task id)."""
    owner = request.query.get("owner", "")
    query = TaskQuery(
        owner=owner,
        all_owners=not owner,
        kind=_choice(request, "kind", Kind),
        status=_choice(request, "status", TaskStatus),
        limit=_limit(request),
        after=request.query.get("after") or None,
    )
    records, more = await request.app[keys.TASKS].list(query)
    data = [render_task(r) for r in records]
    return json_response(
        {"object": "list", "data": data, "has_more": more, "last_id": records[-1].id if records else None}
    )


async def get_task(request: web.Request) -> web.Response:
    """``GET /admin/tasks/{task_id}``: any licence's task in its newest state."""
    record = await request.app[keys.TASKS].inspect(request.match_info["task_id"])
    return json_response(render_task(record))


async def cancel_task(request: web.Request) -> web.Response:
    """``POST /admin/tasks/{task_id}/cancel``: 409 ``task_not_cancellable`` once it was submitted."""
    task_id = request.match_info["task_id"]
    record = await request.app[keys.TASKS].cancel(task_id, reason=CANCEL_REASON)
    summary = {"owner": record.owner, "kind": record.kind.value, "model": record.model}
    await request.app[keys.AUDIT].record(
        "task.cancel", task_id, before={**summary, "status": "queued"}, after={**summary, "status": "failed"}
    )
    return json_response(render_task(record))
