"""Tasks in Redis (``RedisStore``'s facet).

A task is a hash (``task:<id>``: its JSON document) in five sorted-set indexes scored by
``created_at``: every task, the owner's, the owner's of one kind, one kind's, one status's. A write
moves a task between status indexes in the same script that saves it. A listing walks the smallest
index that holds every task the query could want (its size read first, ``ZCARD``), filters the
rest of the query on the documents, and stops once the page is full: the common queries (an
owner's videos; the admin's unfinished ones) read little more than their page.
"""

from __future__ import annotations

from gateway.domain import TaskRecord, TaskStatus
from gateway.store.base import TaskQuery
from gateway.store.redis_facet import IndexCursor, Indexed, RedisFacet, as_text
from gateway.store.tasks_codec import task_from_json, task_to_json

UNFINISHED = tuple(s for s in TaskStatus if not s.finished)


class RedisTasks(RedisFacet):
    """Redis-backed tasks."""

    async def put_task(self, record: TaskRecord) -> None:
        """Save a task."""
        await self.put_tasks([record])

    async def put_tasks(self, records: list[TaskRecord]) -> None:
        """Save several tasks, with their index entries, in one script."""
        await self._upsert([self._task_document(r) for r in records])

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """A task by id."""
        (raw,) = await self._fields([self._key("task", task_id)])
        return task_from_json(raw) if raw is not None else None

    async def delete_task(self, task_id: str) -> bool:
        """Forget a task and its index entries."""
        return await self._delete(self._key("task", task_id), task_id)

    async def list_tasks(self, query: TaskQuery) -> tuple[list[TaskRecord], bool]:
        """One page of tasks, by (created_at, id), from after the cursor (an unknown cursor: none)."""
        index = await self._smallest(self._candidates(query))
        step = min(max(query.limit + 1, 50), 500)
        walk = (
            IndexCursor.descending(self._redis, index, step=step)
            if query.descending
            else IndexCursor.ascending(self._redis, index, step=step)
        )
        if query.after is not None:
            position = await self._score(self._key("tasks", "all"), query.after)
            if position is None:
                return [], False
            walk.skip_to((query.after, position))
        found: list[TaskRecord] = []
        while len(found) <= query.limit and (chunk := await walk.take()):
            found += [t for t in await self._tasks([m for m, _ in chunk]) if _matches(t, query)]
        return found[: query.limit], len(found) > query.limit

    async def unfinished_tasks(self) -> list[TaskRecord]:
        """Tasks still running (read from their status indexes only)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for status in UNFINISHED:
                pipe.zrange(self._key("tasks", "s", status.value), 0, -1)
            chunks = await pipe.execute()
        ids = [as_text(member) for chunk in chunks for member in chunk]
        return [t for t in await self._tasks(ids) if not t.status.finished]

    async def _tasks(self, ids: list[str]) -> list[TaskRecord]:
        raws = await self._fields([self._key("task", i) for i in ids])
        return [task_from_json(raw) for raw in raws if raw is not None]  # None: deleted meanwhile

    def _candidates(self, query: TaskQuery) -> list[str]:
        """Indexes holding every task ``query`` could want, the most specific first."""
        indexes = []
        kind = query.kind.value if query.kind else None
        if not query.all_owners and kind:
            indexes.append(self._key("tasks", "ok", kind, query.owner))
        if not query.all_owners:
            indexes.append(self._key("tasks", "o", query.owner))
        if kind:
            indexes.append(self._key("tasks", "k", kind))
        if query.status is not None:
            indexes.append(self._key("tasks", "s", query.status.value))
        return [*indexes, self._key("tasks", "all")]

    def _task_document(self, record: TaskRecord) -> Indexed:
        kind, at = record.kind.value, record.created_at
        return Indexed(
            key=self._key("task", record.id),
            member=record.id,
            fields={"doc": task_to_json(record)},
            indexes=(
                (self._key("tasks", "all"), at),
                (self._key("tasks", "o", record.owner), at),
                (self._key("tasks", "ok", kind, record.owner), at),
                (self._key("tasks", "k", kind), at),
                (self._key("tasks", "s", record.status.value), at),
            ),
        )


def _matches(task: TaskRecord, query: TaskQuery) -> bool:
    return (
        (query.all_owners or task.owner == query.owner)
        and (query.kind is None or task.kind is query.kind)
        and (query.status is None or task.status is query.status)
    )
