"""What a SQLite facet module needs of the store it is mixed into: the open connection."""

from __future__ import annotations

import aiosqlite


class SqliteFacet:
    """Base of the SQLite facet mixins; ``SqliteStore`` provides the connection."""

    @property
    def _db(self) -> aiosqlite.Connection:
        raise NotImplementedError  # overridden by SqliteStore

    async def _bump(self, counter: str) -> None:
        """Add one to a ``meta`` counter (a revision replicas poll), committing."""
        await self._db.execute("UPDATE meta SET value = value + 1 WHERE key = ?", (counter,))
        await self._db.commit()
