"""SQLite store (the default on one machine), through aiosqlite's worker thread.

Schema changes are numbered migrations applied at open; WAL mode so readers never block the
writer. Holds no caches: the layers above cache what they need.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from gateway.domain import AccountRecord, MediaRecord, UpstreamMedia

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE projects (account_id TEXT PRIMARY KEY, project_id TEXT NOT NULL);
    CREATE TABLE media (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, mime TEXT NOT NULL, size INTEGER NOT NULL,
        created_at REAL NOT NULL, account_id TEXT NOT NULL DEFAULT '',
        upstream_name TEXT, upstream_project TEXT
    );
    """,
    """
    CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL, since REAL NOT NULL,
        cooldown_until REAL NOT NULL, rate_limit_streak INTEGER NOT NULL, auth_failures INTEGER NOT NULL,
        consecutive_failures INTEGER NOT NULL, tier TEXT, credits INTEGER, email TEXT NOT NULL,
        info_at REAL NOT NULL
    );
    """,
)
_ACCOUNT_FIELDS = [f.name for f in dataclasses.fields(AccountRecord)]


class SqliteStore:
    """aiosqlite-backed implementation of ``Store``."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def get_project(self, account_id: str) -> str | None:
        """The remembered project id."""
        async with self._db.execute(
            "SELECT project_id FROM projects WHERE account_id = ?", (account_id,)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def set_project(self, account_id: str, project_id: str) -> None:
        """Remember a project id."""
        await self._db.execute(
            "INSERT INTO projects (account_id, project_id) VALUES (?, ?) "
            "ON CONFLICT(account_id) DO UPDATE SET project_id = excluded.project_id",
            (account_id, project_id),
        )
        await self._db.commit()

    async def put_media(self, record: MediaRecord) -> None:
        """Record a stored result."""
        upstream = record.upstream
        await self._db.execute(
            "INSERT OR REPLACE INTO media VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.owner,
                record.mime,
                record.size,
                record.created_at,
                record.account_id,
                upstream.name if upstream else None,
                upstream.project_id if upstream else None,
            ),
        )
        await self._db.commit()

    async def get_media(self, media_id: str) -> MediaRecord | None:
        """A stored result's record."""
        async with self._db.execute("SELECT * FROM media WHERE id = ?", (media_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        upstream = UpstreamMedia(row[6], row[7]) if row[6] else None
        return MediaRecord(row[0], row[1], row[2], int(row[3]), float(row[4]), row[5], upstream)

    async def delete_media(self, media_id: str) -> bool:
        """Forget a stored result."""
        cur = await self._db.execute("DELETE FROM media WHERE id = ?", (media_id,))
        await self._db.commit()
        return cur.rowcount > 0

    async def put_accounts(self, records: list[AccountRecord]) -> None:
        """Save accounts' runtime state (one transaction)."""
        columns = ", ".join(_ACCOUNT_FIELDS)
        marks = ", ".join("?" for _ in _ACCOUNT_FIELDS)
        await self._db.executemany(
            f"INSERT OR REPLACE INTO accounts ({columns}) VALUES ({marks})",  # noqa: S608 - fixed column names
            [dataclasses.astuple(r) for r in records],
        )
        await self._db.commit()

    async def get_accounts(self) -> dict[str, AccountRecord]:
        """Every saved account state."""
        async with self._db.execute(f"SELECT {', '.join(_ACCOUNT_FIELDS)} FROM accounts") as cur:  # noqa: S608
            rows = await cur.fetchall()
        return {row[0]: AccountRecord(*row) for row in rows}

    async def ping(self) -> bool:
        """True when a trivial query answers."""
        async with self._db.execute("SELECT 1") as cur:
            return await cur.fetchone() is not None


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(script)
        await db.execute(f"PRAGMA user_version = {number}")
    await db.commit()


@asynccontextmanager
async def open_sqlite_store(path: str | Path) -> AsyncIterator[SqliteStore]:
    """Open (creating and migrating) the database; close it on exit."""
    target = Path(path)
    if str(target) != ":memory:":
        target.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(target)
    try:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await _migrate(db)
        yield SqliteStore(db)
    finally:
        await db.close()
