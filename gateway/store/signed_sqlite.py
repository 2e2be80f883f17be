"""Signed URLs' expiries in SQLite (``SqliteStore``'s facet): the ``signed_urls`` table, one row per
media id with the latest expiry signed for it, indexed by expiry for the pruning."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.store.sqlite_facet import SqliteFacet


class SqliteSignedUrls(SqliteFacet):
    """SQLite-backed ``SignedUrlStore``."""

    async def put_signed_urls(self, expiries: Mapping[str, int]) -> None:
        """Record expiries in one transaction, keeping an id's later one."""
        if not expiries:
            return
        await self._db.executemany(
            "INSERT INTO signed_urls (media_id, expires) VALUES (?, ?) "
            "ON CONFLICT(media_id) DO UPDATE SET expires = max(expires, excluded.expires)",
            list(expiries.items()),
        )
        await self._db.commit()

    async def signed_media(self, now: float) -> frozenset[str]:
        """Ids whose URL still opens at ``now``; the expired rows are deleted."""
        await self._db.execute("DELETE FROM signed_urls WHERE expires < ?", (now,))
        await self._db.commit()
        async with self._db.execute("SELECT media_id FROM signed_urls") as cur:
            rows = await cur.fetchall()
        return frozenset(str(row[0]) for row in rows)
