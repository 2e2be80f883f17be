"""Licences and the audit trail in Redis (``RedisStore``'s facet).

Licences are one hash (id → JSON) with a sorted set keeping creation order (an update keeps its
place, as SQLite's rowid does); a write, the revision's increment and the word to the other
replicas are one script. Audit entries are numbered by ``INCR`` (never reused), kept in a hash by
number and indexed overall and per target; an entry and its indexes are written by one script.
"""

from __future__ import annotations

from gateway.domain import AuditEntry, LicenceDefinition
from gateway.store.base import LICENCES_TOPIC
from gateway.store.licences_codec import audit_from_json, audit_to_json, licence_from_json, licence_to_json
from gateway.store.redis_facet import RedisFacet, as_bytes, as_text


class RedisLicences(RedisFacet):
    """Redis-backed ``LicenceStore`` and ``AuditStore``."""

    async def put_licence(self, licence: LicenceDefinition) -> None:
        """Save a licence, move the revision and tell the other replicas (one script)."""
        await self._scripts.put_licence(
            keys=self._licence_keys(), args=[licence.id, licence_to_json(licence), LICENCES_TOPIC]
        )

    async def get_licence(self, licence_id: str) -> LicenceDefinition | None:
        """One licence."""
        raw = as_bytes(await self._redis.hget(self._key("lic", "docs"), licence_id))
        return licence_from_json(raw) if raw is not None else None

    async def get_licences(self) -> list[LicenceDefinition]:
        """Every licence, oldest first."""
        ids = await self._redis.zrange(self._key("lic", "order"), 0, -1)
        if not ids:
            return []
        raws = await self._redis.hmget(self._key("lic", "docs"), [as_text(i) for i in ids])
        return [licence_from_json(raw) for raw in map(as_bytes, raws) if raw is not None]

    async def delete_licence(self, licence_id: str) -> bool:
        """Forget a licence (the revision moves only when there was one)."""
        deleted = await self._scripts.delete_licence(
            keys=self._licence_keys(), args=[licence_id, b"", LICENCES_TOPIC]
        )
        return int(deleted) > 0

    async def licences_revision(self) -> int:
        """Changes whenever a licence is written or deleted (by any replica, or the CLI)."""
        return int(await self._redis.get(self._key("rev", LICENCES_TOPIC)) or 0)

    async def add_audit(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry under the next number."""
        doc = audit_to_json(entry)
        keys = [
            self._key("audit", "seq"),
            self._key("audit", "docs"),
            self._key("audit", "all"),
            self._key("audit", "t", entry.target),
        ]
        seq = int(await self._scripts.add_audit(keys=keys, args=[doc]))
        return audit_from_json(doc, seq=seq)

    async def list_audit(self, *, after: int = 0, limit: int = 100, target: str = "") -> list[AuditEntry]:
        """Entries after ``after``, oldest first (one target's when given)."""
        index = self._key("audit", "t", target) if target else self._key("audit", "all")
        seqs = [
            as_text(s)
            for s in await self._redis.zrangebyscore(index, f"({after}", "+inf", start=0, num=limit)
        ]
        if not seqs:
            return []
        raws = await self._redis.hmget(self._key("audit", "docs"), seqs)
        return [
            audit_from_json(raw, seq=int(seq))
            for seq, raw in zip(seqs, map(as_bytes, raws), strict=True)
            if raw is not None
        ]

    def _licence_keys(self) -> list[str]:
        return [
            self._key("lic", "docs"),
            self._key("lic", "order"),
            self._key("lic", "seq"),
            self._key("rev", LICENCES_TOPIC),
            self._key("changes"),
        ]
