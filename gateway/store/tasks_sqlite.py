"""Tasks in SQLite (``SqliteStore``'s facet): the document as JSON beside the columns tasks are
listed by (owner, kind, status, created_at; the indexes are in ``store/sqlite.py``'s migrations)."""

from __future__ import annotations

from gateway.domain import TaskRecord
from gateway.store.base import TaskQuery
from gateway.store.sqlite_facet import SqliteFacet
from gateway.store.tasks_codec import task_from_json, task_to_json


class SqliteTasks(SqliteFacet):
    """SQLite-backed task facet of ``Store``."""

    async def put_task(self, record: TaskRecord) -> None:
        """Save a task."""
        await self.put_tasks([record])

    async def put_tasks(self, records: list[TaskRecord]) -> None:
        """Save several tasks in one transaction."""
        await self._db.executemany(
            "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?)", [_task_row(r) for r in records]
        )
        await self._db.commit()

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """A task by id."""
        async with self._db.execute("SELECT doc FROM tasks WHERE id = ?", (task_id,)) as cur:
            row = await cur.fetchone()
        return task_from_json(row[0]) if row else None

    async def delete_task(self, task_id: str) -> bool:
        """Forget a task."""
        cur = await self._db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        await self._db.commit()
        return cur.rowcount > 0

    async def list_tasks(self, query: TaskQuery) -> tuple[list[TaskRecord], bool]:
        """One page of tasks, by (created_at, id), from after the cursor."""
        direction, compare = ("DESC", "<") if query.descending else ("ASC", ">")
        clauses, params = [], []
        for column, value in (
            ("owner", None if query.all_owners else query.owner),
            ("kind", query.kind.value if query.kind else None),
            ("status", query.status.value if query.status else None),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = " AND ".join(clauses) or "1"
        if query.after is not None:
            where += f" AND (created_at, id) {compare} (SELECT created_at, id FROM tasks WHERE id = ?)"  # noqa: S608
            params.append(query.after)
        sql = f"SELECT doc FROM tasks WHERE {where} ORDER BY created_at {direction}, id {direction} LIMIT ?"  # noqa: S608
        async with self._db.execute(sql, (*params, query.limit + 1)) as cur:
            rows = list(await cur.fetchall())
        return [task_from_json(r[0]) for r in rows[: query.limit]], len(rows) > query.limit

    async def unfinished_tasks(self) -> list[TaskRecord]:
        """Tasks still running."""
        sql = "SELECT doc FROM tasks WHERE status IN ('queued', 'in_progress')"
        async with self._db.execute(sql) as cur:
            rows = await cur.fetchall()
        return [task_from_json(r[0]) for r in rows]


def _task_row(record: TaskRecord) -> tuple[object, ...]:
    return (
        record.id,
        record.owner,
        record.kind.value,
        record.status.value,
        record.created_at,
        task_to_json(record),
    )
