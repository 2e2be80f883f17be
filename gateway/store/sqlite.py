"""SQLite store (the default on one machine), through aiosqlite's worker thread.

Schema changes are numbered migrations applied at open; WAL mode so readers never block the
writer. Holds no caches: the layers above cache what they need.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import orjson

from gateway.domain import (
    AccountDefinition,
    AccountKind,
    AccountRecord,
    MediaRecord,
    Secret,
    UpstreamMedia,
)
from gateway.store.licences_sqlite import SqliteLicences
from gateway.store.outbox_sqlite import SqliteOutbox
from gateway.store.signed_sqlite import SqliteSignedUrls
from gateway.store.tasks_sqlite import SqliteTasks
from gateway.store.usage_sqlite import SqliteUsage

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
    """
    ALTER TABLE accounts ADD COLUMN day TEXT NOT NULL DEFAULT '';
    ALTER TABLE accounts ADD COLUMN images_today INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN videos_today INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN failures_today INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN credits_today INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN images_total INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN videos_total INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN failures_total INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN captcha_refusals INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
    ALTER TABLE accounts ADD COLUMN last_error_at REAL NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN refused TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE account_defs (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT NOT NULL, secret TEXT NOT NULL,
        worker_key TEXT NOT NULL, groups_json TEXT NOT NULL, weight REAL NOT NULL, proxy TEXT NOT NULL,
        image_concurrency INTEGER NOT NULL, video_concurrency INTEGER NOT NULL, rpm INTEGER NOT NULL,
        daily_images INTEGER NOT NULL, daily_videos INTEGER NOT NULL, tier TEXT NOT NULL,
        enabled INTEGER NOT NULL, source TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta VALUES ('accounts_revision', 0);
    """,
    """
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
        created_at REAL NOT NULL, doc BLOB NOT NULL
    );
    CREATE INDEX tasks_by_owner ON tasks (owner, kind, created_at, id);
    CREATE INDEX tasks_unfinished ON tasks (status) WHERE status IN ('queued', 'in_progress');
    """,
    """
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    DELETE FROM projects WHERE account_id NOT IN (SELECT id FROM account_defs);
    """,
    # Licences, the audit trail, usage and the webhook outbox (their facets: store/*_sqlite.py).
    # Documents are JSON (``doc``); the columns beside them are what is filtered, ordered or summed.
    """
    CREATE TABLE licences (id TEXT PRIMARY KEY, doc BLOB NOT NULL);
    INSERT INTO meta VALUES ('licences_revision', 0);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, target TEXT NOT NULL, doc BLOB NOT NULL
    );
    CREATE INDEX audit_by_target ON audit (target, seq);
    CREATE TABLE usage (
        id TEXT PRIMARY KEY, licence_id TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL,
        account_id TEXT NOT NULL, day TEXT NOT NULL, outcome TEXT NOT NULL, count INTEGER NOT NULL,
        credits_reserved INTEGER NOT NULL, credits_settled INTEGER NOT NULL, created_at REAL NOT NULL,
        doc BLOB NOT NULL
    );
    CREATE INDEX usage_by_time ON usage (created_at);
    CREATE INDEX usage_by_licence ON usage (licence_id, created_at);
    CREATE TABLE webhook_outbox (
        id TEXT PRIMARY KEY, status TEXT NOT NULL, next_at REAL NOT NULL, licence_id TEXT NOT NULL,
        task_id TEXT NOT NULL, created_at REAL NOT NULL, body BLOB NOT NULL, doc BLOB NOT NULL
    );
    CREATE INDEX outbox_due ON webhook_outbox (status, next_at);
    CREATE INDEX outbox_by_task ON webhook_outbox (task_id);
    """,
    # Usage still reserved (generations not settled): read at every start to rebuild the licences'
    # counters, so it must not scan the whole history (a partial index holds only those rows).
    """
    CREATE INDEX usage_reserved ON usage (created_at, id) WHERE outcome = 'reserved';
    """,
    # Media behind a signed URL that may still open (store/signed_sqlite.py): the retention sweep
    # spares them, whichever process signed them, across restarts.
    """
    CREATE TABLE signed_urls (media_id TEXT PRIMARY KEY, expires INTEGER NOT NULL);
    CREATE INDEX signed_urls_by_expiry ON signed_urls (expires);
    """,
)
_ACCOUNT_FIELDS = [f.name for f in dataclasses.fields(AccountRecord)]
_DEFINITION_FIELDS = [f.name for f in dataclasses.fields(AccountDefinition)]
_DEFINITION_COLUMNS = ["groups_json" if n == "groups" else n for n in _DEFINITION_FIELDS]


class SqliteStore(SqliteTasks, SqliteLicences, SqliteUsage, SqliteOutbox, SqliteSignedUrls):
    """aiosqlite-backed ``Store`` (tasks, licences, usage and the outbox in their facets)."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._conn: aiosqlite.Connection | None = None

    @property
    def _db(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise OSError("the SQLite store is not open")
        return self._conn

    async def open(self) -> None:
        """Open (creating and migrating) the database."""
        target = self._path
        if str(target) != ":memory:":
            target.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(target)
        if str(target) != ":memory:":
            target.chmod(0o600)  # it holds account credentials
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=5000")  # the CLI may write while the gateway runs
        await _migrate(db)
        self._conn = db

    async def close(self) -> None:
        """Close the database."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

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

    async def forget_project(self, account_id: str) -> None:
        """Forget an account's project id."""
        await self._db.execute("DELETE FROM projects WHERE account_id = ?", (account_id,))
        await self._db.commit()

    async def get_secret(self, name: str) -> str | None:
        """A kept secret."""
        async with self._db.execute("SELECT value FROM secrets WHERE name = ?", (name,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def set_secret(self, name: str, value: str) -> None:
        """Keep a secret (the file is mode 600)."""
        await self._db.execute("INSERT OR REPLACE INTO secrets (name, value) VALUES (?, ?)", (name, value))
        await self._db.commit()

    async def set_secret_if_absent(self, name: str, value: str) -> str:
        """Keep a secret unless one is kept (another process sharing the file may have been first)."""
        await self._db.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, value))
        await self._db.commit()
        kept = await self.get_secret(name)
        if kept is None:
            raise OSError("the secret was not kept")
        return kept

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
            [_account_row(r) for r in records],
        )
        await self._db.commit()

    async def get_accounts(self) -> dict[str, AccountRecord]:
        """Every saved account state."""
        async with self._db.execute(f"SELECT {', '.join(_ACCOUNT_FIELDS)} FROM accounts") as cur:  # noqa: S608
            rows = await cur.fetchall()
        return {row[0]: _account_of(tuple(row)) for row in rows}

    async def put_definitions(self, definitions: list[AccountDefinition]) -> None:
        """Add or replace account definitions (one transaction, one revision)."""
        columns = ", ".join(_DEFINITION_COLUMNS)
        marks = ", ".join("?" for _ in _DEFINITION_COLUMNS)
        await self._db.executemany(
            f"INSERT OR REPLACE INTO account_defs ({columns}) VALUES ({marks})",  # noqa: S608 - fixed names
            [_definition_row(d) for d in definitions],
        )
        await self._bump_revision()

    async def delete_definition(self, account_id: str) -> bool:
        """Forget an account's definition, its saved state and its project."""
        cur = await self._db.execute("DELETE FROM account_defs WHERE id = ?", (account_id,))
        await self._db.execute("DELETE FROM accounts WHERE account_id = ?", (account_id,))
        await self._db.execute("DELETE FROM projects WHERE account_id = ?", (account_id,))
        await self._bump_revision()
        return cur.rowcount > 0

    async def get_definition(self, account_id: str) -> AccountDefinition | None:
        """One account definition."""
        query = f"SELECT {', '.join(_DEFINITION_COLUMNS)} FROM account_defs WHERE id = ?"  # noqa: S608
        async with self._db.execute(query, (account_id,)) as cur:
            row = await cur.fetchone()
        return _definition_of(tuple(row)) if row else None

    async def get_definitions(self) -> list[AccountDefinition]:
        """Every account definition, oldest first."""
        query = f"SELECT {', '.join(_DEFINITION_COLUMNS)} FROM account_defs ORDER BY created_at, id"  # noqa: S608
        async with self._db.execute(query) as cur:
            rows = await cur.fetchall()
        return [_definition_of(tuple(row)) for row in rows]

    async def definitions_revision(self) -> int:
        """A number that changes whenever a definition is written or deleted."""
        async with self._db.execute("SELECT value FROM meta WHERE key = 'accounts_revision'") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _bump_revision(self) -> None:
        await self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'accounts_revision'")
        await self._db.commit()

    async def ping(self) -> bool:
        """True when a trivial query answers."""
        async with self._db.execute("SELECT 1") as cur:
            return await cur.fetchone() is not None

    async def wait_for_change(self, topic: str, seconds: float) -> bool:
        """SQLite tells nobody of a write: the pollers find changes by their revisions, in time."""
        await asyncio.sleep(seconds)
        return False


def _account_row(record: AccountRecord) -> tuple[object, ...]:
    row = dataclasses.astuple(record)
    return (*row[:-1], orjson.dumps([list(r) for r in record.refused]).decode())


def _account_of(row: tuple[object, ...]) -> AccountRecord:
    refused = tuple((str(f), float(t)) for f, t in orjson.loads(str(row[-1])))
    values = dict(zip(_ACCOUNT_FIELDS, (*row[:-1], refused), strict=True))
    return AccountRecord(**values)  # type: ignore[arg-type]


def _definition_row(definition: AccountDefinition) -> tuple[object, ...]:
    values: list[object] = []
    for name in _DEFINITION_FIELDS:
        value = getattr(definition, name)
        if name == "secret":
            value = value.reveal()
        elif name == "groups":
            value = orjson.dumps(list(value)).decode()
        elif name in ("kind",):
            value = str(value)
        values.append(value)
    return tuple(values)


def _definition_of(row: tuple[object, ...]) -> AccountDefinition:
    values = dict(zip(_DEFINITION_FIELDS, row, strict=True))
    values["secret"] = Secret(str(values["secret"]))
    values["groups"] = tuple(orjson.loads(str(values["groups"])))
    values["kind"] = AccountKind(str(values["kind"]))
    values["enabled"] = bool(values["enabled"])
    return AccountDefinition(**values)  # type: ignore[arg-type]


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
    store = SqliteStore(path)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
