"""Usage records written behind: a request never waits for the store to record its usage.

Each record's newest version waits in memory and is written ``delay`` seconds later, many records
per transaction (a reservation and its settlement often land together). Reads that must include
the latest records (the usage reports) call :meth:`flush` first; shutdown flushes what is left.
A crash loses at most the last ``delay`` seconds of records: the counters rebuilt at the next
start then miss those reservations (and give back nothing they did not hold).
"""

from __future__ import annotations

import asyncio

import structlog

from gateway.domain import UsageRecord
from gateway.store.base import STORE_FAILURES, UsageStore

log = structlog.get_logger("gateway.service.quota")
WRITE_DELAY = 0.25  # seconds: long enough to batch a burst, short enough that reports are current
WRITE_RETRY_MAX = 5.0  # seconds between attempts while the store refuses the writes


class UsageLedger:
    """Holds usage records until they are written."""

    def __init__(self, store: UsageStore, *, delay: float = WRITE_DELAY) -> None:
        self._store = store
        self._delay = delay
        self._unwritten: dict[str, UsageRecord] = {}
        self._writing = asyncio.Lock()  # one write at a time: an older version never lands last
        self._writer: asyncio.Task[None] | None = None

    def put(self, record: UsageRecord) -> None:
        """Write ``record`` soon (replacing an unwritten older version of it)."""
        self._unwritten[record.id] = record
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon(), name="usage:write-behind")

    def unwritten(self, record_id: str) -> UsageRecord | None:
        """A record not written yet, if it is one."""
        return self._unwritten.get(record_id)

    async def flush(self) -> None:
        """Write every record held now."""
        async with self._writing:
            batch = list(self._unwritten.values())
            if not batch:
                return
            await self._store.put_usage(batch)
            for record in batch:  # a newer version that arrived meanwhile stays for the next batch
                if self._unwritten.get(record.id) is record:
                    del self._unwritten[record.id]

    async def close(self) -> None:
        """Flush, then stop the writer."""
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write_soon(self) -> None:
        delay = self._delay
        while self._unwritten:
            await asyncio.sleep(delay)
            try:
                await self.flush()
                delay = self._delay
            except STORE_FAILURES:  # keep the records, try again later
                log.exception("usage_write_failed", records=len(self._unwritten))
                delay = min(max(delay, 0.05) * 2, WRITE_RETRY_MAX)
