"""Keeping the pool's account states in the store: written behind while running (the registry
restores them at start).

Cooldowns, verdicts (needs re-login, needs a worker, disabled) and what Flow last said (tier,
credits) survive a restart. Writes are batched every ``interval`` seconds and once more at shutdown,
so the hot path never waits for the database.
"""

from __future__ import annotations

import asyncio
import contextlib

from gateway.pool.pool import AccountPool
from gateway.store.base import Store


class AccountStateKeeper:
    """Saves the pool's account states."""

    def __init__(self, pool: AccountPool, store: Store, *, interval: float = 1.0) -> None:
        self._pool = pool
        self._store = store
        self._interval = interval

    async def flush(self) -> int:
        """Write the accounts changed since the last flush."""
        records = self._pool.take_changes()
        if records:
            await self._store.put_accounts(records)
        return len(records)

    async def run(self) -> None:
        """Flush every ``interval`` seconds until cancelled; a failing write is retried next time."""
        while True:
            await asyncio.sleep(self._interval)
            with contextlib.suppress(OSError, ValueError):
                await self.flush()
