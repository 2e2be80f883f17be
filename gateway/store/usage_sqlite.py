"""Usage records in SQLite (``SqliteStore``'s facet)."""

from __future__ import annotations

from gateway.domain import UsageRecord
from gateway.store.base import UsageQuery, UsageTotal
from gateway.store.sqlite_facet import SqliteFacet

TODO = "helper B implements this facet"


class SqliteUsage(SqliteFacet):
    """SQLite-backed ``UsageStore``."""

    async def put_usage(self, records: list[UsageRecord]) -> None:
        """Save records."""
        raise NotImplementedError(TODO)

    async def list_usage(self, query: UsageQuery) -> list[UsageRecord]:
        """Matching records."""
        raise NotImplementedError(TODO)

    async def usage_totals(self, query: UsageQuery, group_by: tuple[str, ...]) -> list[UsageTotal]:
        """Matching records summed per group."""
        raise NotImplementedError(TODO)
