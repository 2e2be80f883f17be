"""``GET /v1/usage`` and ``GET /v1/licence`` (our extensions): a licence reads its own usage, limits
and what is left of them, never another licence's, and never a secret (no key hash, no webhook
secret) nor an account id (those stay internal).
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway import keys
from gateway.api.render import json_response
from gateway.domain import LicenceDefinition
from gateway.service.quota.book import Standing
from gateway.service.quota.report import MEASURES, as_csv, parse_report, total_rows

OWN_GROUPS = ("model", "day", "kind")


async def get_usage(request: web.Request) -> web.StreamResponse:
    """``GET /v1/usage?group_by=day,model&since=&until=&model=&kind=&format=json|csv``."""
    licence = request[keys.LICENCE]
    report = parse_report(
        request.query, now=time.time(), groups=OWN_GROUPS, default_group=("day",), licence_id=licence.id
    )
    rows = total_rows(report, await request.app[keys.QUOTA].totals(report.query, report.group_by))
    if report.format == "csv":
        return web.Response(text=as_csv(rows, [*report.group_by, *MEASURES]), content_type="text/csv")
    return json_response(
        {
            "object": "list",
            "licence_id": licence.id,
            "group_by": list(report.group_by),
            "since": report.query.since,
            "until": report.query.until or None,
            "data": rows,
        }
    )


async def get_licence(request: web.Request) -> web.Response:
    """``GET /v1/licence``: the caller's licence, its limits, what is left of them now."""
    licence = request[keys.LICENCE]
    return json_response(render_licence(licence, await request.app[keys.QUOTA].standing(licence)))


def render_licence(licence: LicenceDefinition, standing: Standing) -> dict[str, object]:
    """A licence as its holder sees it (0 in ``limits`` is no limit; ``remaining`` is null then)."""
    today, window = standing.today, standing.window
    return {
        "object": "licence",
        "id": licence.id,
        "name": licence.name,
        "owner": licence.owner,
        "expires_at": int(licence.expires_at) if licence.expires_at else None,
        "enabled": licence.enabled,
        "models": list(licence.models),
        "groups": list(licence.groups),
        "default_group": licence.default_group or None,
        "priority": licence.priority,
        "progress": licence.progress or None,
        "webhook_url": licence.webhook_url or None,
        "limits": {
            "rpm": licence.rpm,
            "max_concurrency": licence.max_concurrency,
            "daily_images": licence.daily_images,
            "daily_videos": licence.daily_videos,
            "daily_credits": licence.daily_credits,
            "monthly_credits": licence.monthly_credits,
        },
        "used": {
            "day": standing.day,
            "images_today": today.images,
            "videos_today": today.videos,
            "credits_today": today.credits,
            "month": standing.month,
            "credits_this_month": standing.month_credits,
            "in_progress": standing.in_progress,
            "requests_this_minute": window.used,
        },
        "remaining": {
            "requests_this_minute": window.remaining if licence.rpm else None,
            "concurrency": _left(licence.max_concurrency, standing.in_progress),
            "images_today": _left(licence.daily_images, today.images),
            "videos_today": _left(licence.daily_videos, today.videos),
            "credits_today": _left(licence.daily_credits, today.credits),
            "credits_this_month": _left(licence.monthly_credits, standing.month_credits),
        },
        "rate_limit_reset": window.reset_duration if licence.rpm else None,
    }


def _left(limit: int, used: int) -> int | None:
    return max(0, limit - used) if limit else None
