"""In-process store: for tests and throwaway runs; state dies with the process."""

from __future__ import annotations

from gateway.domain import AccountDefinition, AccountRecord, MediaRecord


class MemoryStore:
    """Dict-backed implementation of ``Store``."""

    def __init__(self) -> None:
        self._projects: dict[str, str] = {}
        self._media: dict[str, MediaRecord] = {}
        self._accounts: dict[str, AccountRecord] = {}
        self._definitions: dict[str, AccountDefinition] = {}
        self._revision = 0

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
        """Forget an account's definition and its saved state."""
        self._accounts.pop(account_id, None)
        self._revision += 1
        return self._definitions.pop(account_id, None) is not None

    async def get_definitions(self) -> list[AccountDefinition]:
        """Every account definition, oldest first."""
        return sorted(self._definitions.values(), key=lambda d: (d.created_at, d.id))

    async def definitions_revision(self) -> int:
        """Changes whenever a definition is written or deleted."""
        return self._revision

    async def ping(self) -> bool:
        """Always ready."""
        return True
