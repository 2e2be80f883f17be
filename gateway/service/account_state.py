"""Keeping the pool's account states in the store: written behind while running (the registry
restores them at start), and, with several replicas, shared between them as they change.

Cooldowns, verdicts (needs re-login, needs a worker, disabled) and what Flow last said (tier,
credits) survive a restart. Writes are batched every ``interval`` seconds and once more at shutdown,
so the hot path never waits for the database. With a shared store (Redis) the ids of accounts whose
shared part changed are published after each write, and what other replicas publish is read and
applied (``AccountTable.absorb``): a cooldown one replica meets is honoured by all within about an
``interval`` and a round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Protocol

from gateway.domain import AccountRecord
from gateway.pool.pool import AccountPool
from gateway.store.base import Store

Shared = tuple[str, float, float, tuple[tuple[str, float], ...], float]


class HealthFeed(Protocol):
    """How replicas tell each other of accounts' changed states."""

    async def publish(self, account_ids: Sequence[str]) -> None:
        """Tell the others these accounts' states were just written."""
        ...

    async def run(self, absorb: Callable[[list[AccountRecord]], object]) -> None:
        """Hand the records others changed to ``absorb`` until cancelled."""
        ...


class LocalHealth:
    """One replica: nobody to tell, nobody to hear."""

    async def publish(self, account_ids: Sequence[str]) -> None:
        """Nothing to do."""
        del account_ids

    async def run(self, absorb: Callable[[list[AccountRecord]], object]) -> None:
        """Returns at once."""
        del absorb


class AccountStateKeeper:
    """Saves the pool's account states (and shares them, through ``feed``)."""

    def __init__(
        self, pool: AccountPool, store: Store, *, interval: float = 1.0, feed: HealthFeed | None = None
    ) -> None:
        self._pool = pool
        self._store = store
        self._interval = interval
        self._feed: HealthFeed = feed or LocalHealth()
        self._told: dict[str, Shared] = {}  # what was last published of each account

    async def flush(self) -> int:
        """Write the accounts changed since the last flush; publish those whose shared part moved."""
        table = self._pool.table
        records = table.take_changes()
        if not records:
            return 0
        try:
            await self._store.put_accounts(records)
        except OSError:  # the store is down: these are written with the next flush, not forgotten
            table.mark_changed(r.account_id for r in records)
            raise
        news = self._news(records)
        await self._feed.publish(list(news))
        self._told.update(news)  # once told: a failed publish is tried with the next change
        return len(records)

    async def run(self) -> None:
        """Flush every ``interval`` seconds until cancelled; a failing write is retried next time."""
        while True:
            await asyncio.sleep(self._interval)
            with contextlib.suppress(OSError, ValueError):
                await self.flush()

    async def listen(self) -> None:
        """Apply what other replicas publish, until cancelled (returns at once on one machine)."""
        await self._feed.run(self._pool.table.absorb)

    def _news(self, records: list[AccountRecord]) -> dict[str, Shared]:
        """The records whose shared part (health, refusals, what Flow said) was not told yet."""
        news = {}
        for record in records:
            shared = (record.state, record.since, record.cooldown_until, record.refused, record.info_at)
            if self._told.get(record.account_id) != shared:
                news[record.account_id] = shared
        return news
