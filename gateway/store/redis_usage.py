"""Usage records in Redis (``RedisStore``'s facet).

A record is a hash (``use:<id>``: its JSON document) in sorted sets scored by ``created_at``: every
record, its licence's, and while it is reserved (not settled) the reserved ones', which is what a
start reads to hold budgets again. A batch of records is one script.

Sums are computed here, not in Redis: a report walks the smallest index that covers the query
(the licence's when one is named), within the window (a score range), a chunk at a time, and adds
each matching record with :func:`gateway.store.usage_codec.add_to_total` (the rules every backend
shares). Memory stays bounded by the chunk and the number of groups; the cost is one read per
record in the window, acceptable for reports and the monthly rebuild at start. A Lua sum would
block every replica's Redis for as long; pre-aggregated counters could not answer arbitrary windows.
"""

from __future__ import annotations

import dataclasses

from gateway.domain import UsageOutcome, UsageRecord
from gateway.store.base import USAGE_GROUPS, UsageQuery, UsageTotal
from gateway.store.redis_facet import IndexCursor, Indexed, RedisFacet
from gateway.store.usage_codec import add_to_total, matches, usage_from_json, usage_to_json

STEP = 500


class RedisUsage(RedisFacet):
    """Redis-backed ``UsageStore``."""

    async def put_usage(self, records: list[UsageRecord]) -> None:
        """Save records (upsert by id), in one script."""
        await self._upsert([self._usage_document(r) for r in records])

    async def list_usage(self, query: UsageQuery) -> list[UsageRecord]:
        """Matching records, oldest first (by ``created_at``, then id), from after ``query.after``
        (an unknown cursor: none, as SQLite answers)."""
        walk = await self._usage_walk(query)
        if walk is None:
            return []
        found: list[UsageRecord] = []
        while len(found) < query.limit and (chunk := await walk.take()):
            found += [r for r in await self._records([m for m, _ in chunk]) if matches(r, query)]
        return found[: query.limit]

    async def usage_totals(self, query: UsageQuery, group_by: tuple[str, ...]) -> list[UsageTotal]:
        """Matching records summed per group (the whole window, paging aside), ordered by the key."""
        unknown = [g for g in group_by if g not in USAGE_GROUPS]
        if unknown:
            raise ValueError(f"cannot group usage by {unknown}")
        walk = await self._usage_walk(dataclasses.replace(query, after=""))
        totals: dict[tuple[str, ...], UsageTotal] = {}
        while walk is not None and (chunk := await walk.take()):
            for record in await self._records([m for m, _ in chunk]):
                if matches(record, query):
                    key = tuple(str(getattr(record, g)) for g in group_by)
                    totals[key] = add_to_total(totals.get(key) or UsageTotal(key), record)
        return [totals[k] for k in sorted(totals)]

    async def _usage_walk(self, query: UsageQuery) -> IndexCursor | None:
        """A walk over the window of the smallest index covering ``query``; None for an unknown cursor."""
        indexes = []
        if query.outcome == UsageOutcome.RESERVED.value:
            indexes.append(self._key("uses", "reserved"))
        if query.licence_id:
            indexes.append(self._key("uses", "l", query.licence_id))
        index = await self._smallest([*indexes, self._key("uses", "all")])
        stop = f"({query.until!r}" if query.until else "+inf"
        walk = IndexCursor.ascending(self._redis, index, low=query.since, stop=stop, step=STEP)
        if query.after:
            position = await self._score(self._key("uses", "all"), query.after)
            if position is None:
                return None
            walk.skip_to((query.after, position))
        return walk

    async def _records(self, ids: list[str]) -> list[UsageRecord]:
        raws = await self._fields([self._key("use", i) for i in ids])
        return [usage_from_json(raw) for raw in raws if raw is not None]

    def _usage_document(self, record: UsageRecord) -> Indexed:
        at = record.created_at
        indexes = [(self._key("uses", "all"), at), (self._key("uses", "l", record.licence_id), at)]
        if record.outcome is UsageOutcome.RESERVED:
            indexes.append((self._key("uses", "reserved"), at))
        return Indexed(self._key("use", record.id), record.id, {"doc": usage_to_json(record)}, indexes)
