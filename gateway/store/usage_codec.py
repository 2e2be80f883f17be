"""Usage records as JSON documents, and the one definition of how records are summed.

Both backends sum with the same rules: the memory backend through :func:`add_to_total`, the SQLite
one through :data:`TOTAL_COLUMNS`, its SQL twin (a test holds the two equal).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from gateway.domain import UsageOutcome, UsageRecord
from gateway.store.base import UsageQuery, UsageTotal

_FIELDS = frozenset(f.name for f in dataclasses.fields(UsageRecord))
# requests, images, videos, succeeded, failed, credits (settled), reserved (credits not settled yet)
TOTAL_COLUMNS = (
    "COUNT(*)",
    "SUM(CASE WHEN kind = 'image' AND outcome = 'succeeded' THEN count ELSE 0 END)",
    "SUM(CASE WHEN kind = 'video' AND outcome = 'succeeded' THEN count ELSE 0 END)",
    "SUM(outcome = 'succeeded')",
    "SUM(outcome IN ('failed', 'cancelled'))",
    "SUM(credits_settled)",
    "SUM(CASE WHEN outcome = 'reserved' THEN credits_reserved ELSE 0 END)",
)


def usage_to_json(record: UsageRecord) -> bytes:
    """The record as one JSON document."""
    return orjson.dumps(record)


def usage_from_json(raw: bytes | str) -> UsageRecord:
    """The inverse of :func:`usage_to_json`; unknown keys (from a newer version) are ignored."""
    doc: dict[str, Any] = orjson.loads(raw)
    values = {k: v for k, v in doc.items() if k in _FIELDS}
    values["outcome"] = UsageOutcome(values.get("outcome", UsageOutcome.RESERVED))
    return UsageRecord(**values)


def matches(record: UsageRecord, query: UsageQuery) -> bool:
    """Whether ``record`` is within ``query``'s window and filters (paging aside)."""
    if record.created_at < query.since or (query.until and record.created_at >= query.until):
        return False
    wanted = (
        (query.licence_id, record.licence_id),
        (query.model, record.model),
        (query.account_id, record.account_id),
        (query.kind, record.kind),
        (query.outcome, record.outcome.value),
    )
    return all(not want or want == have for want, have in wanted)


def add_to_total(total: UsageTotal, record: UsageRecord) -> UsageTotal:
    """``total`` with ``record`` counted in (the same rules as :data:`TOTAL_COLUMNS`)."""
    succeeded = record.outcome is UsageOutcome.SUCCEEDED
    return dataclasses.replace(
        total,
        requests=total.requests + 1,
        images=total.images + (record.count if succeeded and record.kind == "image" else 0),
        videos=total.videos + (record.count if succeeded and record.kind == "video" else 0),
        succeeded=total.succeeded + succeeded,
        failed=total.failed + (record.outcome in (UsageOutcome.FAILED, UsageOutcome.CANCELLED)),
        credits=total.credits + record.credits_settled,
        reserved=total.reserved + (record.credits_reserved if record.outcome is UsageOutcome.RESERVED else 0),
    )
