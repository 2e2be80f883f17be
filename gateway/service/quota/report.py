"""Usage reports: the query a report's parameters describe, and its rows as JSON or CSV.

Shared by ``GET /admin/usage`` (any licence, grouped by licence, model, account, day or kind) and
``GET /v1/usage`` (a licence's own: never another's, and never by account, whose ids stay
internal). Times are Unix seconds or UTC dates (``2026-12-01``); ``until`` is exclusive (a date
means the start of that day). Without ``since`` a report starts at the first day of this month.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from gateway.domain import UsageRecord
from gateway.errors import InvalidRequestError
from gateway.service.quota.rules import month_start
from gateway.store.base import USAGE_GROUPS, UsageQuery, UsageTotal

FORMATS = ("json", "csv")
MEASURES = ("requests", "images", "videos", "succeeded", "failed", "credits", "reserved")
RECORD_FIELDS = tuple(f.name for f in fields(UsageRecord))
MAX_RECORDS = 10_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A report asked for: which records, grouped how, in which format."""

    query: UsageQuery
    group_by: tuple[str, ...]
    format: str = "json"


def parse_report(
    params: Mapping[str, str],
    *,
    now: float,
    groups: Sequence[str] = USAGE_GROUPS,
    default_group: tuple[str, ...] = ("licence_id",),
    licence_id: str | None = None,
) -> UsageReport:
    """The report ``params`` ask for; ``licence_id`` (when given) confines it to that licence."""
    raw = params.get("group_by", "")
    group_by = tuple(g.strip() for g in raw.split(",") if g.strip()) if raw else default_group
    for name in group_by:
        if name not in groups:
            raise InvalidRequestError(
                f"group_by takes {', '.join(groups)} (comma-separated); got {name!r}", param="group_by"
            )
    fmt = params.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidRequestError("format must be json or csv", param="format")
    limit = params.get("limit", str(MAX_RECORDS))
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_RECORDS:  # "²".isdigit()
        raise InvalidRequestError(f"limit must be from 1 to {MAX_RECORDS}", param="limit")
    query = UsageQuery(
        since=_moment(params.get("since"), "since") if params.get("since") else month_start(now),
        until=_moment(params.get("until"), "until") if params.get("until") else 0.0,
        licence_id=licence_id if licence_id is not None else params.get("licence_id", ""),
        model=params.get("model", ""),
        account_id=params.get("account_id", "") if "account_id" in groups else "",
        kind=params.get("kind", ""),
        after=params.get("after", ""),
        limit=int(limit),
    )
    return UsageReport(query, tuple(dict.fromkeys(group_by)), fmt)


def total_rows(report: UsageReport, totals: Sequence[UsageTotal]) -> list[dict[str, object]]:
    """One row per group: its key fields, then the sums."""
    return [
        {**dict(zip(report.group_by, t.key, strict=True)), **{m: getattr(t, m) for m in MEASURES}}
        for t in totals
    ]


def record_rows(records: Sequence[UsageRecord], *, hide: Sequence[str] = ()) -> list[dict[str, object]]:
    """One row per record (``hide``: fields left out, e.g. the account for a licence's own view)."""
    names = [n for n in RECORD_FIELDS if n not in hide]
    return [{n: getattr(r, n) for n in names} for r in records]  # StrEnums write as their values


def as_csv(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> str:
    """``rows`` as CSV with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _moment(value: str | None, param: str) -> float:
    text = (value or "").strip()
    if _DATE.match(text):
        try:
            return float(calendar.timegm(time.strptime(text, "%Y-%m-%d")))
        except ValueError:
            pass
    else:
        try:
            moment = float(text)
        except ValueError:
            moment = -1.0
        if moment >= 0:
            return moment
    raise InvalidRequestError(f"{param} must be Unix seconds or a date (YYYY-MM-DD)", param=param)
