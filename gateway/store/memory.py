"""In-process store: for tests and throwaway runs; state dies with the process."""

from __future__ import annotations

from gateway.domain import AccountRecord, MediaRecord


class MemoryStore:
    """Dict-backed implementation of ``Store``."""

    def __init__(self) -> None:
        self._projects: dict[str, str] = {}
        self._media: dict[str, MediaRecord] = {}
        self._accounts: dict[str, AccountRecord] = {}

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

    async def ping(self) -> bool:
        """Always ready."""
        return True
