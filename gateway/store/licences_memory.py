"""Licences and the audit trail in memory (``MemoryStore``'s facet)."""

from __future__ import annotations

from gateway.domain import AuditEntry, LicenceDefinition

TODO = "helper A implements this facet"


class MemoryLicences:
    """Dict-backed ``LicenceStore`` and ``AuditStore``."""

    async def put_licence(self, licence: LicenceDefinition) -> None:
        """Save a licence."""
        raise NotImplementedError(TODO)

    async def get_licence(self, licence_id: str) -> LicenceDefinition | None:
        """One licence."""
        raise NotImplementedError(TODO)

    async def get_licences(self) -> list[LicenceDefinition]:
        """Every licence."""
        raise NotImplementedError(TODO)

    async def delete_licence(self, licence_id: str) -> bool:
        """Forget a licence row."""
        raise NotImplementedError(TODO)

    async def licences_revision(self) -> int:
        """Changes whenever a licence is written."""
        raise NotImplementedError(TODO)

    async def add_audit(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry."""
        raise NotImplementedError(TODO)

    async def list_audit(self, *, after: int = 0, limit: int = 100, target: str = "") -> list[AuditEntry]:
        """Entries after ``after``."""
        raise NotImplementedError(TODO)
