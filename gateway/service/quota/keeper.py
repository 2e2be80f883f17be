"""The upkeep of a book's reservations, in the background: shared counters renew this replica's
synchronous holds and give back the ones nobody renewed (their replica died mid-request). One
process's counters need none, and get no task.

The loop survives Redis going away (a round that fails is logged and the next one tries again), and
stops when told rather than cancelled mid-command (redis-py can swallow a cancellation there).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from gateway.errors import StoreUnavailableError

log = structlog.get_logger("gateway.service.quota")
STOP_WAIT = 10.0  # seconds a round under way may take to finish at shutdown (a socket timeout)


class Keeper:
    """Runs ``round`` every ``every`` seconds until stopped."""

    def __init__(self, round_: Callable[[], Awaitable[None]], every: float) -> None:
        self._round, self._every = round_, every
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage:keep-holds")

    async def stop(self) -> None:
        """Finish the round under way, if any, and stop."""
        self._stop.set()
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), STOP_WAIT)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._every):
                    await self._stop.wait()
                return
            try:
                await self._round()
            except StoreUnavailableError:
                log.warning("usage_holds_not_kept")  # Redis away: the next round tries again
            except ValueError:  # a hold written by another version, unreadable here: the next round
                log.exception("usage_holds_keep_failed")
