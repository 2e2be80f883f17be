"""Licences and the audit trail in memory (``MemoryStore``'s facet)."""

from __future__ import annotations

import dataclasses

from gateway.domain import AuditEntry, LicenceDefinition


class MemoryLicences:
    """Dict-backed ``LicenceStore`` and ``AuditStore``."""

    def __init__(self) -> None:
        super().__init__()  # the other facets' state (cooperative: MemoryStore mixes several)
        self._licences: dict[str, LicenceDefinition] = {}  # insertion order: oldest first
        self._licences_revision = 0
        self._audit: list[AuditEntry] = []

    async def put_licence(self, licence: LicenceDefinition) -> None:
        """Save a licence (an update keeps its place in the order)."""
        self._licences[licence.id] = licence
        self._licences_revision += 1

    async def get_licence(self, licence_id: str) -> LicenceDefinition | None:
        """One licence."""
        return self._licences.get(licence_id)

    async def get_licences(self) -> list[LicenceDefinition]:
        """Every licence, oldest first."""
        return list(self._licences.values())

    async def delete_licence(self, licence_id: str) -> bool:
        """Forget a licence row."""
        if self._licences.pop(licence_id, None) is None:
            return False
        self._licences_revision += 1
        return True

    async def licences_revision(self) -> int:
        """Changes whenever a licence is written or deleted."""
        return self._licences_revision

    async def add_audit(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry, numbered from 1."""
        numbered = dataclasses.replace(entry, seq=len(self._audit) + 1)
        self._audit.append(numbered)
        return numbered

    async def list_audit(self, *, after: int = 0, limit: int = 100, target: str = "") -> list[AuditEntry]:
        """Entries after ``after``, oldest first (``seq`` n is at index n - 1)."""
        rows = (e for e in self._audit[max(after, 0) :] if not target or e.target == target)
        return [e for _, e in zip(range(limit), rows, strict=False)]
