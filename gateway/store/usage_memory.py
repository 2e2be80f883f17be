"""Usage records in memory (``MemoryStore``'s facet)."""

from __future__ import annotations

from gateway.domain import UsageRecord
from gateway.store.base import USAGE_GROUPS, UsageQuery, UsageTotal
from gateway.store.usage_codec import add_to_total, matches


class MemoryUsage:
    """Dict-backed ``UsageStore``."""

    def __init__(self) -> None:
        super().__init__()  # the other facets' state (cooperative: MemoryStore mixes several)
        self._usage: dict[str, UsageRecord] = {}

    async def put_usage(self, records: list[UsageRecord]) -> None:
        """Save records (upsert by id)."""
        self._usage.update({r.id: r for r in records})

    async def list_usage(self, query: UsageQuery) -> list[UsageRecord]:
        """Matching records, oldest first (by ``created_at``, then id), from after ``query.after``."""
        rows = sorted((r for r in self._usage.values() if matches(r, query)), key=_order)
        if query.after:
            cursor = self._usage.get(query.after)
            rows = [r for r in rows if cursor is None or _order(r) > _order(cursor)]
        return rows[: query.limit]

    async def usage_totals(self, query: UsageQuery, group_by: tuple[str, ...]) -> list[UsageTotal]:
        """Matching records summed per group, ordered by the group's key."""
        unknown = [g for g in group_by if g not in USAGE_GROUPS]
        if unknown:
            raise ValueError(f"cannot group usage by {unknown}")
        totals: dict[tuple[str, ...], UsageTotal] = {}
        for record in self._usage.values():
            if matches(record, query):
                key = tuple(str(getattr(record, g)) for g in group_by)
                totals[key] = add_to_total(totals.get(key) or UsageTotal(key), record)
        return [totals[k] for k in sorted(totals)]


def _order(record: UsageRecord) -> tuple[float, str]:
    return record.created_at, record.id
