"""``/admin/workers/enrolments``: enrol a browser worker (its token shown once), list, revoke.

Handlers translate HTTP to ``service/worker_enrolment.py``; a token appears only in the answer that
made it, a listing shows its hint and how many of this replica's sockets use it now.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.admin.render import json_response
from gateway.errors import InvalidRequestError
from gateway.service.worker_enrolment import Enrolment, WorkerEnrolments


def render_enrolment(enrolment: Enrolment, enrolments: WorkerEnrolments) -> dict[str, object]:
    """One enrolment for the admin API (never its token or the token's hash)."""
    return {
        "id": enrolment.id,
        "object": "worker.enrolment",
        "name": enrolment.name,
        "token_hint": enrolment.token_hint,
        "created_at": enrolment.created_at,
        "revoked_at": enrolment.revoked_at or None,
        "connected": enrolments.connected(enrolment.id),
    }


async def list_enrolments(request: web.Request) -> web.Response:
    """``GET /admin/workers/enrolments``: oldest first, revoked ones included."""
    enrolments = request.app[keys.ENROLMENTS]
    data = [render_enrolment(e, enrolments) for e in await enrolments.entries()]
    return json_response({"object": "list", "data": data})


async def create_enrolment(request: web.Request) -> web.Response:
    """``POST /admin/workers/enrolments`` ``{"name"}``: 201 with the enrolment and its ``token``."""
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequestError("the body must be JSON", code="invalid_json") from None
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        raise InvalidRequestError('enrol a worker with {"name": "..."}', param="name")
    enrolments = request.app[keys.ENROLMENTS]
    enrolment, token = await enrolments.create(name)
    return json_response({**render_enrolment(enrolment, enrolments), "token": token}, status=201)


async def revoke_enrolment(request: web.Request) -> web.Response:
    """``DELETE /admin/workers/enrolments/{enrolment_id}``: its token stops working at once."""
    enrolments = request.app[keys.ENROLMENTS]
    enrolment = await enrolments.revoke(request.match_info["enrolment_id"])
    return json_response(render_enrolment(enrolment, enrolments))
