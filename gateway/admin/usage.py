"""``GET /admin/usage`` (usage summed per licence, model, account, day or kind) and
``GET /admin/usage/records`` (one row per generation), as JSON or CSV (``format=csv``).

Handlers translate HTTP to the quota's reports; the parameters and the sums are
``service/quota/report.py``'s, shared with a licence's own ``GET /v1/usage``.
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway import keys
from gateway.admin.render import json_response
from gateway.service.quota.report import (
    MEASURES,
    RECORD_FIELDS,
    as_csv,
    parse_report,
    record_rows,
    total_rows,
)


async def usage_totals(request: web.Request) -> web.Response:
    """``GET /admin/usage?group_by=licence_id,model,account_id,day,kind&since=&until=&licence_id=
    &model=&account_id=&kind=&format=json|csv``."""
    report = parse_report(request.query, now=time.time())
    rows = total_rows(report, await request.app[keys.QUOTA].totals(report.query, report.group_by))
    if report.format == "csv":
        return _csv(as_csv(rows, [*report.group_by, *MEASURES]), "usage.csv")
    return json_response(
        {
            "object": "list",
            "group_by": list(report.group_by),
            "since": report.query.since,
            "until": report.query.until or None,
            "data": rows,
        }
    )


async def usage_records(request: web.Request) -> web.Response:
    """``GET /admin/usage/records?since=&until=&licence_id=&model=&account_id=&kind=&after=&limit=
    &format=json|csv``: generations oldest first; page on with ``after`` (the last id)."""
    report = parse_report(request.query, now=time.time())
    records = await request.app[keys.QUOTA].records(report.query)
    rows = record_rows(records)
    if report.format == "csv":
        return _csv(as_csv(rows, RECORD_FIELDS), "usage-records.csv")
    return json_response(
        {
            "object": "list",
            "data": rows,
            "has_more": len(records) == report.query.limit,
            "last_id": records[-1].id if records else None,
        }
    )


def _csv(text: str, name: str) -> web.Response:
    response = web.Response(text=text, content_type="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
