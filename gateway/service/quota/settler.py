"""Settlements that could not be written yet, written as soon as they can be.

A settlement comes from code that cannot wait (the task engine's listeners, an admission given
back) or meets a store that does not answer (Redis away): it waits here, by work id, and is
applied again until the store takes it, keeping its nonce, so a retry whose first attempt did land
(its answer lost) is answered the same and counted once. A second settlement of a work id waiting
here is dropped: a generation settles once. Shutdown tries what is left once; a settlement still
unwritten then is recovered at the next start (a task's from its record; a synchronous request's
hold expires).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

import structlog

from gateway.domain import UsageRecord
from gateway.errors import StoreUnavailableError
from gateway.service.quota.settlement import Settlement

log = structlog.get_logger("gateway.service.quota")
Apply = Callable[[str, Settlement, str], Awaitable[UsageRecord | None]]
RETRY_FIRST = 0.1  # seconds before the first retry, doubling to
RETRY_MAX = 5.0


def new_nonce() -> str:
    """What tells a retry of one settlement from another settlement of the same work."""
    return secrets.token_hex(8)


class Settler:
    """Settlements waiting to be written, and the task writing them."""

    def __init__(self, apply: Apply) -> None:
        self._apply = apply
        self._waiting: dict[str, tuple[Settlement, str]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._one_at_a_time = asyncio.Lock()

    def put(self, work_id: str, settlement: Settlement, nonce: str = "") -> None:
        """Write ``settlement`` soon (at once, on the next turn of the loop), retrying as needed."""
        self._waiting.setdefault(work_id, (settlement, nonce or new_nonce()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="usage:settle")

    async def now(self, work_id: str, settlement: Settlement) -> UsageRecord | None:
        """Write ``settlement`` now; if the store does not answer, later (:meth:`put`), and None."""
        nonce = new_nonce()
        try:
            return await self._apply(work_id, settlement, nonce)
        except StoreUnavailableError:
            log.warning("usage_settlement_deferred", work=work_id)
            self.put(work_id, settlement, nonce)
            return None

    def waiting(self) -> int:
        """Settlements not written yet."""
        return len(self._waiting)

    async def flush(self) -> None:
        """Write every waiting settlement now (raising if the store does not answer)."""
        while self._waiting:
            await self._next()

    async def close(self) -> None:
        """Try what is left once, then stop the writer."""
        try:
            await self.flush()
        except StoreUnavailableError:
            log.warning("usage_settlements_unwritten", count=len(self._waiting))
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write(self) -> None:
        delay = RETRY_FIRST
        while self._waiting:
            try:
                await self._next()
                delay = RETRY_FIRST
            except StoreUnavailableError:
                log.warning("usage_settlement_retry", waiting=len(self._waiting), seconds=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _next(self) -> None:
        async with self._one_at_a_time:
            if not self._waiting:
                return
            work_id, (settlement, nonce) = next(iter(self._waiting.items()))
            try:
                await self._apply(work_id, settlement, nonce)
            except StoreUnavailableError:
                raise
            except ValueError:  # a hold or record it cannot read: dropped, not retried for ever
                log.exception("usage_settlement_failed", work=work_id)
            del self._waiting[work_id]
