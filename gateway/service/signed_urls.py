"""Signed URLs written behind to the store, so that every replica's retention sweep spares them.

``UrlSigner.sign`` is on every image response: it only notes what it signed, in memory. About every
second (``WRITE_INTERVAL``) this writer takes those notes and records them in the store in one write
(``SignedUrlStore.put_signed_urls``). A write that fails (Redis away) keeps the batch for the next
attempt, backing off up to ``WRITE_RETRY_MAX``; the batch only loses entries whose URLs have expired
meanwhile (they protect nothing). Shutdown writes what is left. Until an entry is written, only
this process's sweep knows it (from the signer's own memory): the window is one interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from gateway.media.signing import UrlSigner
from gateway.store.base import STORE_FAILURES, SignedUrlStore

log = structlog.get_logger("gateway.service.signed_urls")
WRITE_INTERVAL = 1.0  # seconds: the window in which another replica's sweep does not know a URL
WRITE_RETRY_MAX = 10.0  # seconds between attempts while the store refuses the writes


class SignedUrlWriter:
    """Takes what the signer signed and writes it to the store, in batches."""

    def __init__(
        self,
        signer: UrlSigner,
        store: SignedUrlStore,
        *,
        interval: float = WRITE_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self._store = store
        self._interval = interval
        self._clock = clock
        self._held: dict[str, int] = {}  # taken from the signer, not written yet (a failed write)
        self._writing = asyncio.Lock()  # one write at a time: a batch is never taken twice

    def held(self) -> int:
        """How many entries wait for a write that failed."""
        return len(self._held)

    async def flush(self) -> None:
        """Write everything signed so far; on failure it stays held and the error is raised."""
        async with self._writing:
            now = self._clock()
            for media_id, expires in self._signer.take_unwritten().items():
                self._held[media_id] = max(expires, self._held.get(media_id, expires))
            self._held = {media_id: e for media_id, e in self._held.items() if e >= now}
            if self._held:
                await self._store.put_signed_urls(self._held)
                self._held = {}  # nothing was added meanwhile: only flush adds, under the lock

    async def run(self) -> None:
        """Flush every interval until cancelled; a failing store is logged and tried again later."""
        delay = self._interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self.flush()
                delay = self._interval
            except STORE_FAILURES:  # Redis away, a locked file: keep the batch, retry
                log.exception("signed_urls_write_failed", held=len(self._held))
                delay = min(max(delay, 0.05) * 2, WRITE_RETRY_MAX)

    async def close(self) -> None:
        """Write what is left (at shutdown, after :meth:`run` is cancelled)."""
        try:
            await self.flush()
        except STORE_FAILURES:  # the store is away at shutdown: nothing more can be done
            log.exception("signed_urls_unwritten_at_shutdown", held=len(self._held))
