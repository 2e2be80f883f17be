"""Licences and the audit trail in SQLite (``SqliteStore``'s facet).

A licence is a JSON document; an update keeps its row (``ON CONFLICT ... DO UPDATE``), so rowid
order stays creation order. Audit entries are numbered by the table's AUTOINCREMENT key, which
never reuses a number.
"""

from __future__ import annotations

from gateway.domain import AuditEntry, LicenceDefinition
from gateway.store.licences_codec import audit_from_json, audit_to_json, licence_from_json, licence_to_json
from gateway.store.sqlite_facet import SqliteFacet

REVISION = "licences_revision"


class SqliteLicences(SqliteFacet):
    """SQLite-backed ``LicenceStore`` and ``AuditStore``."""

    async def put_licence(self, licence: LicenceDefinition) -> None:
        """Save a licence and bump the revision (one commit)."""
        await self._db.execute(
            "INSERT INTO licences (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
            (licence.id, licence_to_json(licence)),
        )
        await self._bump(REVISION)

    async def get_licence(self, licence_id: str) -> LicenceDefinition | None:
        """One licence."""
        async with self._db.execute("SELECT doc FROM licences WHERE id = ?", (licence_id,)) as cur:
            row = await cur.fetchone()
        return licence_from_json(row[0]) if row else None

    async def get_licences(self) -> list[LicenceDefinition]:
        """Every licence, oldest first."""
        async with self._db.execute("SELECT doc FROM licences ORDER BY rowid") as cur:
            rows = await cur.fetchall()
        return [licence_from_json(row[0]) for row in rows]

    async def delete_licence(self, licence_id: str) -> bool:
        """Forget a licence row."""
        cur = await self._db.execute("DELETE FROM licences WHERE id = ?", (licence_id,))
        if cur.rowcount == 0:
            return False
        await self._bump(REVISION)
        return True

    async def licences_revision(self) -> int:
        """Changes whenever a licence is written or deleted (by any process sharing the file)."""
        async with self._db.execute("SELECT value FROM meta WHERE key = ?", (REVISION,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def add_audit(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry; its ``seq`` is the new row's key."""
        cur = await self._db.execute(
            "INSERT INTO audit (at, target, doc) VALUES (?, ?, ?)",
            (entry.at, entry.target, audit_to_json(entry)),
        )
        await self._db.commit()
        seq = cur.lastrowid
        if seq is None:
            raise OSError("the audit entry was not numbered")
        return audit_from_json(audit_to_json(entry), seq=seq)

    async def list_audit(self, *, after: int = 0, limit: int = 100, target: str = "") -> list[AuditEntry]:
        """Entries after ``after``, oldest first (one target's when given)."""
        where = "seq > ?"
        params: list[object] = [after]
        if target:
            where += " AND target = ?"
            params.append(target)
        async with self._db.execute(
            f"SELECT seq, doc FROM audit WHERE {where} ORDER BY seq LIMIT ?",  # noqa: S608 - fixed clauses
            (*params, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [audit_from_json(row[1], seq=int(row[0])) for row in rows]
