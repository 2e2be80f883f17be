"""The task engine's writes: now, or held back and batched (``TaskEngine``'s docstring says which),
always through the task claims, so a task this process no longer holds is never written.

One write at a time (a lock), so an older version of a task never lands after a newer one; a
deletion takes the same lock, so a batch holding the task lands first and the row does not come back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog

from gateway.domain import TaskRecord
from gateway.store.base import STORE_FAILURES
from gateway.store.task_claims import ClaimLostError, TaskClaims

log = structlog.get_logger("gateway.service.tasks")
WRITE_RETRY_MAX = 5.0  # seconds between attempts while the store refuses held-back writes


class TaskWrites:
    """Writes of claimed tasks; the refused ones are handed to ``lose`` (their runners stop)."""

    def __init__(
        self,
        claims: TaskClaims,
        *,
        delay: float,
        lose: Callable[[set[str]], None],
        ended: Callable[[str], None],
    ) -> None:
        self._claims, self._delay, self._lose, self._ended = claims, delay, lose, ended
        self._unwritten: dict[str, TaskRecord] = {}  # newest versions not yet in the store
        self._writing = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None

    @property
    def delay(self) -> float:
        """Seconds a held-back write waits (0: none is held back)."""
        return self._delay

    def pending(self, task_id: str) -> TaskRecord | None:
        """The newest version of a task not written yet."""
        return self._unwritten.get(task_id)

    def forget(self, task_id: str) -> None:
        """Write nothing more of this task (deleted, lost)."""
        self._unwritten.pop(task_id, None)

    async def now(self, record: TaskRecord, *, new: bool = False) -> None:
        """Write a task now (``new``: claimed with it); ``ClaimLostError`` when it is not ours."""
        self._unwritten.pop(record.id, None)
        async with self._writing:
            refused = await self._claims.write([record], new=new)
        if refused:
            self._lose(refused)
            raise ClaimLostError(record.id)
        if record.status.finished:
            self._ended(record.id)  # its claim went with this write

    def behind(self, record: TaskRecord) -> None:
        """Write a task ``delay`` seconds from now, with whatever else is held back by then."""
        self._unwritten[record.id] = record
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon(), name="tasks:write-behind")

    async def flush(self) -> None:
        """Write every transition still held back (at shutdown; tests)."""
        async with self._writing:
            batch = list(self._unwritten.values())
            if not batch:
                return
            refused = await self._claims.write(batch, batch=True)
            for record in batch:  # a newer version that arrived meanwhile stays for the next batch
                if self._unwritten.get(record.id) is record:
                    del self._unwritten[record.id]
                if record.status.finished and record.id not in refused:
                    self._ended(record.id)
        if refused:
            self._lose(refused)

    async def close(self) -> None:
        """Flush, then stop the writer (flushed first, so it is never cancelled inside a write)."""
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    @asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No write while inside (a deletion: a batch holding the task lands before it)."""
        async with self._writing:
            yield

    async def _write_soon(self) -> None:
        delay = self._delay
        while self._unwritten:
            await asyncio.sleep(delay)
            try:
                await self.flush()
                delay = self._delay
            except STORE_FAILURES:  # keep them (reads still see them), try again later
                log.exception("task_write_failed", tasks=len(self._unwritten))
                delay = min(delay * 2, WRITE_RETRY_MAX)
