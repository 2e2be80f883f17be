"""``/admin/webhooks``: webhook deliveries with their attempts, and sending one again.

A delivery shows where it goes, what it reports and every attempt (time, the receiver's status,
the error); never a signing secret (deliveries do not hold one: it is looked up when signing).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway import keys
from gateway.admin.render import json_response
from gateway.domain import DeliveryStatus, WebhookDelivery
from gateway.errors import InvalidRequestError

MAX_PAGE = 1000


def render_delivery(delivery: WebhookDelivery) -> dict[str, object]:
    """One delivery for the admin API (its body only in :func:`get_webhook`)."""
    return {
        "id": delivery.id,
        "object": "webhook.delivery",
        "event": delivery.event,
        "licence_id": delivery.licence_id,
        "task_id": delivery.task_id,
        "url": delivery.url,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_at if delivery.status is DeliveryStatus.PENDING else None,
        "last_status": delivery.last_status or None,
        "last_error": delivery.last_error or None,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at or None,
        "history": [
            {"at": at, "status": status or None, "error": error or None}
            for at, status, error in delivery.history
        ],
        "body_bytes": len(delivery.body),
    }


def _filters(request: web.Request) -> tuple[DeliveryStatus | None, int]:
    raw_status, raw_limit = request.query.get("status", ""), request.query.get("limit", "100")
    if raw_status and raw_status not in {s.value for s in DeliveryStatus}:
        allowed = ", ".join(s.value for s in DeliveryStatus)
        raise InvalidRequestError(f"status must be one of {allowed}", param="status")
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise InvalidRequestError(f"limit must be from 1 to {MAX_PAGE}", param="limit")
    return (DeliveryStatus(raw_status) if raw_status else None), int(raw_limit)


async def list_webhooks(request: web.Request) -> web.Response:
    """``GET /admin/webhooks?task_id=&licence_id=&status=&limit=``: newest first."""
    status, limit = _filters(request)
    deliveries = await request.app[keys.WEBHOOKS].list(
        task_id=request.query.get("task_id", ""),
        licence_id=request.query.get("licence_id", ""),
        status=status,
        limit=limit,
    )
    return json_response({"object": "list", "data": [render_delivery(d) for d in deliveries]})


async def get_webhook(request: web.Request) -> web.Response:
    """``GET /admin/webhooks/{id}``: one delivery, with the body it sends."""
    delivery = await request.app[keys.WEBHOOKS].get(request.match_info["delivery_id"])
    return json_response({**render_delivery(delivery), "body": orjson.loads(delivery.body)})


async def retry_webhook(request: web.Request) -> web.Response:
    """``POST /admin/webhooks/{id}/retry``: pending again, due now, with a fresh series of attempts."""
    delivery = await request.app[keys.WEBHOOKS].retry(
        request.match_info["delivery_id"], audit=request.app[keys.AUDIT]
    )
    return json_response(render_delivery(delivery))
