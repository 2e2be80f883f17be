"""Usage records in SQLite (``SqliteStore``'s facet): sums are computed by SQL, never in Python.

The filtered, grouped and summed fields are columns beside the JSON document (the table is in the
last migrations of ``store/sqlite.py``); group names are checked against ``USAGE_GROUPS`` before
they become column names in a query.
"""

from __future__ import annotations

from gateway.domain import UsageOutcome, UsageRecord
from gateway.store.base import USAGE_GROUPS, UsageQuery, UsageTotal
from gateway.store.sqlite_facet import SqliteFacet
from gateway.store.usage_codec import TOTAL_COLUMNS, usage_from_json, usage_to_json

_FILTERS = ("licence_id", "model", "account_id", "kind")


class SqliteUsage(SqliteFacet):
    """SQLite-backed ``UsageStore``."""

    async def put_usage(self, records: list[UsageRecord]) -> None:
        """Save records (upsert by id), in one transaction."""
        if not records:
            return
        await self._db.executemany(
            "INSERT OR REPLACE INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_row(r) for r in records],
        )
        await self._db.commit()

    async def list_usage(self, query: UsageQuery) -> list[UsageRecord]:
        """Matching records, oldest first (by ``created_at``, then id), from after ``query.after``."""
        where, params = _where(query)
        if query.after:
            where += " AND (created_at, id) > (SELECT created_at, id FROM usage WHERE id = ?)"
            params.append(query.after)
        sql = f"SELECT doc FROM usage WHERE {where} ORDER BY created_at, id LIMIT ?"  # noqa: S608 - fixed
        async with self._db.execute(sql, (*params, query.limit)) as cur:
            rows = await cur.fetchall()
        return [usage_from_json(r[0]) for r in rows]

    async def usage_totals(self, query: UsageQuery, group_by: tuple[str, ...]) -> list[UsageTotal]:
        """Matching records summed per group (in SQL), ordered by the group's key."""
        unknown = [g for g in group_by if g not in USAGE_GROUPS]
        if unknown:
            raise ValueError(f"cannot group usage by {unknown}")
        where, params = _where(query)
        keys = ", ".join(group_by)
        select = ", ".join([*group_by, *TOTAL_COLUMNS])
        sql = f"SELECT {select} FROM usage WHERE {where}"  # noqa: S608 - names checked above
        if group_by:
            sql += f" GROUP BY {keys} ORDER BY {keys}"
        async with self._db.execute(sql, params) as cur:
            rows = await cur.fetchall()
        width = len(group_by)
        return [
            UsageTotal(tuple(str(v) for v in row[:width]), *(int(v or 0) for v in row[width:]))
            for row in rows
            if row[width]  # without GROUP BY, an empty table still answers one row of nulls
        ]


def _where(query: UsageQuery) -> tuple[str, list[object]]:
    clauses: list[str] = ["created_at >= ?"]
    params: list[object] = [query.since]
    if query.until:
        clauses.append("created_at < ?")
        params.append(query.until)
    for column in _FILTERS:
        value = getattr(query, column)
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.outcome:
        # A literal, not a parameter: only then may SQLite use the partial index of reserved rows
        # (the value is one of the enum's, so nothing foreign reaches the SQL text).
        clauses.append(f"outcome = '{UsageOutcome(query.outcome).value}'")
    return " AND ".join(clauses), params


def _row(record: UsageRecord) -> tuple[object, ...]:
    return (
        record.id,
        record.licence_id,
        record.kind,
        record.model,
        record.account_id,
        record.day,
        record.outcome.value,
        record.count,
        record.credits_reserved,
        record.credits_settled,
        record.created_at,
        usage_to_json(record),
    )
