"""The store Protocol: every piece of state the gateway must keep outside a process.

Backends (``memory``, ``sqlite``; ``redis`` later for several replicas) implement it whole. Callers
depend on the Protocol only, so moving state between backends never touches the layers above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.domain import AccountDefinition, AccountRecord, Kind, MediaRecord, TaskRecord


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Which tasks to list: an owner's, of one kind, newest first (``descending``) from after a cursor id."""

    owner: str
    kind: Kind
    limit: int = 20
    after: str | None = None
    descending: bool = True


class Store(Protocol):
    """Persistent gateway state."""

    async def open(self) -> None:
        """Connect (and migrate); called once at start."""
        ...

    async def close(self) -> None:
        """Disconnect; called once at shutdown."""
        ...

    async def get_project(self, account_id: str) -> str | None:
        """The Flow project id remembered for an account."""
        ...

    async def set_project(self, account_id: str, project_id: str) -> None:
        """Remember an account's Flow project id."""
        ...

    async def forget_project(self, account_id: str) -> None:
        """Forget an account's project id (Flow no longer knows it)."""
        ...

    async def get_secret(self, name: str) -> str | None:
        """A secret the gateway generated for itself (the URL signing key), if kept."""
        ...

    async def set_secret(self, name: str, value: str) -> None:
        """Keep such a secret (the store file is private, as it holds credentials)."""
        ...

    async def put_media(self, record: MediaRecord) -> None:
        """Record a stored result."""
        ...

    async def get_media(self, media_id: str) -> MediaRecord | None:
        """A stored result's record."""
        ...

    async def delete_media(self, media_id: str) -> bool:
        """Forget a stored result; False when it was unknown."""
        ...

    async def put_accounts(self, records: list[AccountRecord]) -> None:
        """Save accounts' runtime state (upsert)."""
        ...

    async def get_accounts(self) -> dict[str, AccountRecord]:
        """Every saved account state, by account id."""
        ...

    async def put_definitions(self, definitions: list[AccountDefinition]) -> None:
        """Add or replace account definitions (upsert by id), changing the revision once."""
        ...

    async def delete_definition(self, account_id: str) -> bool:
        """Forget an account's definition and saved state; False when it was unknown."""
        ...

    async def get_definition(self, account_id: str) -> AccountDefinition | None:
        """One account definition."""
        ...

    async def get_definitions(self) -> list[AccountDefinition]:
        """Every account definition, oldest first."""
        ...

    async def definitions_revision(self) -> int:
        """A number that changes whenever a definition is written or deleted (replicas poll it)."""
        ...

    async def put_task(self, record: TaskRecord) -> None:
        """Save a task (upsert by id)."""
        ...

    async def put_tasks(self, records: list[TaskRecord]) -> None:
        """Save several tasks in one write (the engine's write-behind batches)."""
        ...

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """A task by id."""
        ...

    async def delete_task(self, task_id: str) -> bool:
        """Forget a task; False when it was unknown."""
        ...

    async def list_tasks(self, query: TaskQuery) -> tuple[list[TaskRecord], bool]:
        """One page of an owner's tasks of one kind, and whether more follow."""
        ...

    async def unfinished_tasks(self) -> list[TaskRecord]:
        """Every task not completed or failed (resumed at start)."""
        ...

    async def ping(self) -> bool:
        """True when the backend answers (readiness)."""
        ...
