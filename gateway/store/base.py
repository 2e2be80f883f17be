"""The store Protocol: every piece of state the gateway must keep outside a process.

Backends (``memory``, ``sqlite``; ``redis`` for several replicas) implement it whole. Callers
depend on the Protocol only, so moving state between backends never touches the layers above.
Licences, the audit trail, usage, the webhook outbox and signed URLs are facets of their own
(``LicenceStore``, ``AuditStore``, ``UsageStore``, ``OutboxStore``, ``SignedUrlStore``), each
implemented per backend in its own module (``store/<facet>_memory.py``, ``store/<facet>_sqlite.py``,
``store/redis_<facet>.py``) mixed into the backend's class.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from gateway.domain import (
    AccountDefinition,
    AccountRecord,
    AuditEntry,
    DeliveryStatus,
    Kind,
    LicenceDefinition,
    MediaRecord,
    TaskRecord,
    TaskStatus,
    UsageRecord,
    WebhookDelivery,
)


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Which tasks to list: an owner's, of one kind, newest first (``descending``) from after a cursor id.

    ``kind`` None is every kind and ``status`` None every status; ``all_owners`` (the admin view
    only) ignores ``owner``: explicit, so a public handler cannot widen its view by leaving a field
    empty."""

    owner: str
    kind: Kind | None
    limit: int = 20
    after: str | None = None
    descending: bool = True
    status: TaskStatus | None = None
    all_owners: bool = False


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Which usage records: a time window (``until`` 0: open), optionally one licence, model,
    account, kind or outcome (a ``UsageOutcome`` value); ``after`` a record id to page from (oldest
    first)."""

    since: float = 0.0
    until: float = 0.0
    licence_id: str = ""
    model: str = ""
    account_id: str = ""
    kind: str = ""
    after: str = ""
    limit: int = 1000
    outcome: str = ""


USAGE_GROUPS = ("licence_id", "model", "account_id", "day", "kind")


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """Usage summed over one group (``key``: the values of ``group_by``, in its order)."""

    key: tuple[str, ...]
    requests: int = 0
    images: int = 0  # images delivered (an order of n counts n when it succeeded)
    videos: int = 0
    succeeded: int = 0
    failed: int = 0
    credits: int = 0  # settled
    reserved: int = 0  # held by generations not settled yet


class ChangeFeed(Protocol):
    """Word of a change another process made (Redis: pub/sub; memory and SQLite: none, only time)."""

    async def wait_for_change(self, topic: str, seconds: float) -> bool:
        """Wait up to ``seconds``; True as soon as ``topic`` (``accounts``, ``licences``)
        changed elsewhere. Callers still compare revisions: a wake is a hint, never the change."""
        ...


# What any backend raises when it cannot do a store operation now: SQLite's own errors (a locked
# or full database), and ``OSError`` (a disk; Redis away, as ``StoreUnavailableError``, is one).
# Loops that write behind catch these, keep what they hold and try again; anything else is a bug.
STORE_FAILURES: tuple[type[Exception], ...] = (OSError, sqlite3.Error)

ACCOUNTS_TOPIC, LICENCES_TOPIC = "accounts", "licences"  # what ``wait_for_change`` is told of
TASKS_TOPIC = "tasks"  # tasks released or seized by a replica (``store/redis_claims.py``)
WORKERS_TOPIC = "workers"  # browser workers' presence moved (Redis only: store/redis_workers.py)


class LicenceStore(ChangeFeed, Protocol):
    """Licence definitions (helper A); the live registry waits on the change feed between polls."""

    async def put_licence(self, licence: LicenceDefinition) -> None:
        """Save a licence (upsert by id) and bump the licences revision."""
        ...

    async def get_licence(self, licence_id: str) -> LicenceDefinition | None:
        """One licence."""
        ...

    async def get_licences(self) -> list[LicenceDefinition]:
        """Every licence, oldest first (revoked ones included)."""
        ...

    async def delete_licence(self, licence_id: str) -> bool:
        """Forget a licence row (a config licence removed from the file); False when unknown."""
        ...

    async def licences_revision(self) -> int:
        """A number that changes whenever a licence is written or deleted (replicas poll it)."""
        ...


class AuditStore(Protocol):
    """The admin audit trail (helper A)."""

    async def add_audit(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry; returns it with its ``seq``."""
        ...

    async def list_audit(self, *, after: int = 0, limit: int = 100, target: str = "") -> list[AuditEntry]:
        """Entries with ``seq`` > ``after``, oldest first (one target's when given)."""
        ...


class UsageStore(Protocol):
    """Usage records (helper B)."""

    async def put_usage(self, records: list[UsageRecord]) -> None:
        """Save records (upsert by id), in one write."""
        ...

    async def list_usage(self, query: UsageQuery) -> list[UsageRecord]:
        """Matching records, oldest first, at most ``query.limit``."""
        ...

    async def usage_totals(self, query: UsageQuery, group_by: tuple[str, ...]) -> list[UsageTotal]:
        """Matching records summed per group (``group_by`` ⊆ ``USAGE_GROUPS``)."""
        ...


class OutboxStore(Protocol):
    """Webhook deliveries owed (helper C)."""

    async def put_delivery(self, delivery: WebhookDelivery) -> None:
        """Save a delivery (upsert by id)."""
        ...

    async def due_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries whose ``next_at`` has come, soonest first."""
        ...

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        """One delivery."""
        ...

    async def list_deliveries(
        self,
        *,
        task_id: str = "",
        licence_id: str = "",
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[WebhookDelivery]:
        """Deliveries of a task, a licence or in one status (each filter optional), newest first."""
        ...

    async def outbox_backlog(self) -> int:
        """How many deliveries are pending (due now or waiting for a retry)."""
        ...


class SignedUrlStore(Protocol):
    """Which media signed URLs may still open, whichever replica signed them (the retention sweep
    spares those): written behind by ``service/signed_urls.py``."""

    async def put_signed_urls(self, expiries: Mapping[str, int]) -> None:
        """Record media id -> expiry (unix seconds) pairs in one write, keeping an id's later expiry."""
        ...

    async def signed_media(self, now: float) -> frozenset[str]:
        """The ids with a URL that still opens at ``now`` (expiry >= now); the expired are forgotten."""
        ...


class Store(LicenceStore, AuditStore, UsageStore, OutboxStore, SignedUrlStore, Protocol):
    """Persistent gateway state (the facets above, and the rest below)."""

    async def open(self) -> None:
        """Connect (and migrate); called once at start."""
        ...

    async def close(self) -> None:
        """Disconnect; called once at shutdown."""
        ...

    async def get_project(self, account_id: str) -> str | None:
        """The Flow project id remembered for an account."""
        ...

    async def set_project(self, account_id: str, project_id: str) -> None:
        """Remember an account's Flow project id."""
        ...

    async def forget_project(self, account_id: str) -> None:
        """Forget an account's project id (Flow no longer knows it)."""
        ...

    async def get_secret(self, name: str) -> str | None:
        """A secret the gateway generated for itself (the URL signing key), if kept."""
        ...

    async def set_secret(self, name: str, value: str) -> None:
        """Keep such a secret (the store file is private, as it holds credentials)."""
        ...

    async def set_secret_if_absent(self, name: str, value: str) -> str:
        """Keep ``value`` unless a secret of that name is kept already; the one kept, either way
        (two replicas starting at once both end up with the first one written)."""
        ...

    async def put_media(self, record: MediaRecord) -> None:
        """Record a stored result."""
        ...

    async def get_media(self, media_id: str) -> MediaRecord | None:
        """A stored result's record."""
        ...

    async def delete_media(self, media_id: str) -> bool:
        """Forget a stored result; False when it was unknown."""
        ...

    async def put_accounts(self, records: list[AccountRecord]) -> None:
        """Save accounts' runtime state (upsert)."""
        ...

    async def get_accounts(self) -> dict[str, AccountRecord]:
        """Every saved account state, by account id."""
        ...

    async def put_definitions(self, definitions: list[AccountDefinition]) -> None:
        """Add or replace account definitions (upsert by id), changing the revision once."""
        ...

    async def delete_definition(self, account_id: str) -> bool:
        """Forget an account's definition and saved state; False when it was unknown."""
        ...

    async def get_definition(self, account_id: str) -> AccountDefinition | None:
        """One account definition."""
        ...

    async def get_definitions(self) -> list[AccountDefinition]:
        """Every account definition, oldest first."""
        ...

    async def definitions_revision(self) -> int:
        """A number that changes whenever a definition is written or deleted (replicas poll it)."""
        ...

    async def put_task(self, record: TaskRecord) -> None:
        """Save a task (upsert by id)."""
        ...

    async def put_tasks(self, records: list[TaskRecord]) -> None:
        """Save several tasks in one write (the engine's write-behind batches)."""
        ...

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """A task by id."""
        ...

    async def delete_task(self, task_id: str) -> bool:
        """Forget a task; False when it was unknown."""
        ...

    async def list_tasks(self, query: TaskQuery) -> tuple[list[TaskRecord], bool]:
        """One page of an owner's tasks of one kind, and whether more follow."""
        ...

    async def unfinished_tasks(self) -> list[TaskRecord]:
        """Every task not completed or failed (resumed at start)."""
        ...

    async def ping(self) -> bool:
        """True when the backend answers (readiness)."""
        ...
