"""In-process store: for tests and throwaway runs; state dies with the process."""

from __future__ import annotations

import asyncio

from gateway.domain import AccountDefinition, AccountRecord, MediaRecord, TaskRecord
from gateway.store.base import TaskQuery
from gateway.store.licences_memory import MemoryLicences
from gateway.store.outbox_memory import MemoryOutbox
from gateway.store.signed_memory import MemorySignedUrls
from gateway.store.usage_memory import MemoryUsage


class MemoryStore(MemoryLicences, MemoryUsage, MemoryOutbox, MemorySignedUrls):
    """Dict-backed implementation of ``Store`` (licences, usage and the outbox in their facets)."""

    def __init__(self) -> None:
        super().__init__()  # the facets' own state
        self._projects: dict[str, str] = {}
        self._secrets: dict[str, str] = {}
        self._media: dict[str, MediaRecord] = {}
        self._accounts: dict[str, AccountRecord] = {}
        self._definitions: dict[str, AccountDefinition] = {}
        self._revision = 0
        self._tasks: dict[str, TaskRecord] = {}

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def get_project(self, account_id: str) -> str | None:
        """The remembered project id."""
        return self._projects.get(account_id)

    async def set_project(self, account_id: str, project_id: str) -> None:
        """Remember a project id."""
        self._projects[account_id] = project_id

    async def forget_project(self, account_id: str) -> None:
        """Forget an account's project id."""
        self._projects.pop(account_id, None)

    async def get_secret(self, name: str) -> str | None:
        """A kept secret."""
        return self._secrets.get(name)

    async def set_secret(self, name: str, value: str) -> None:
        """Keep a secret."""
        self._secrets[name] = value

    async def set_secret_if_absent(self, name: str, value: str) -> str:
        """Keep a secret unless one is kept; the one kept."""
        return self._secrets.setdefault(name, value)

    async def put_media(self, record: MediaRecord) -> None:
        """Record a stored result."""
        self._media[record.id] = record

    async def get_media(self, media_id: str) -> MediaRecord | None:
        """A stored result's record."""
        return self._media.get(media_id)

    async def delete_media(self, media_id: str) -> bool:
        """Forget a stored result."""
        return self._media.pop(media_id, None) is not None

    async def put_accounts(self, records: list[AccountRecord]) -> None:
        """Save accounts' runtime state."""
        self._accounts.update({r.account_id: r for r in records})

    async def get_accounts(self) -> dict[str, AccountRecord]:
        """Every saved account state."""
        return dict(self._accounts)

    async def put_definitions(self, definitions: list[AccountDefinition]) -> None:
        """Add or replace account definitions."""
        self._definitions.update({d.id: d for d in definitions})
        self._revision += 1

    async def delete_definition(self, account_id: str) -> bool:
        """Forget an account's definition, its saved state and its project."""
        self._accounts.pop(account_id, None)
        self._projects.pop(account_id, None)
        self._revision += 1
        return self._definitions.pop(account_id, None) is not None

    async def get_definition(self, account_id: str) -> AccountDefinition | None:
        """One account definition."""
        return self._definitions.get(account_id)

    async def get_definitions(self) -> list[AccountDefinition]:
        """Every account definition, oldest first."""
        return sorted(self._definitions.values(), key=lambda d: (d.created_at, d.id))

    async def definitions_revision(self) -> int:
        """Changes whenever a definition is written or deleted."""
        return self._revision

    async def put_task(self, record: TaskRecord) -> None:
        """Save a task."""
        self._tasks[record.id] = record

    async def put_tasks(self, records: list[TaskRecord]) -> None:
        """Save several tasks."""
        for record in records:
            self._tasks[record.id] = record

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """A task by id."""
        return self._tasks.get(task_id)

    async def delete_task(self, task_id: str) -> bool:
        """Forget a task."""
        return self._tasks.pop(task_id, None) is not None

    async def list_tasks(self, query: TaskQuery) -> tuple[list[TaskRecord], bool]:
        """One page of an owner's tasks."""
        rows = sorted(
            (t for t in self._tasks.values() if _matches(t, query)),
            key=lambda t: (t.created_at, t.id),
            reverse=query.descending,
        )
        if query.after is not None:
            ids = [t.id for t in rows]
            rows = rows[ids.index(query.after) + 1 :] if query.after in ids else []
        return rows[: query.limit], len(rows) > query.limit

    async def unfinished_tasks(self) -> list[TaskRecord]:
        """Tasks still running."""
        return [t for t in self._tasks.values() if not t.status.finished]

    async def ping(self) -> bool:
        """Always ready."""
        return True

    async def wait_for_change(self, topic: str, seconds: float) -> bool:
        """Only this process writes here: nothing to hear of, only time passes."""
        await asyncio.sleep(seconds)
        return False


def _matches(task: TaskRecord, query: TaskQuery) -> bool:
    return (
        (query.all_owners or task.owner == query.owner)
        and (query.kind is None or task.kind is query.kind)
        and (query.status is None or task.status is query.status)
    )
