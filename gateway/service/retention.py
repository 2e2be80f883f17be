"""Media retention: keeping the media store within an age and a total size.

Every ``sweep_interval`` seconds the cleaner lists what is stored and removes, oldest first, what is
older than ``max_age_hours``, then more while the total is over ``max_total_mb``. It never removes:

- what an unfinished task points to (its inputs, results, poster), read from the store at each sweep;
- what a signed URL may still open, whichever replica signed it and before any restart: the store
  records them (``SignedUrlStore``, written behind by ``service/signed_urls.py``), and this
  process's signer remembers those it has not written yet;
- anything younger than the signed URLs' lifetime (``url_ttl_seconds``) plus ``FRESH_SECONDS``:
  most URLs are signed as their media is made, and those are not recorded at all (signing.py).

So the size cap can be exceeded when everything left is protected; that is logged as a warning.
What it removes goes from the store's media records first, then from the disk (a file whose record
is gone is found and removed again by the next sweep; a record whose file is gone would never be).
When the store does not answer (Redis away), the sweep skips its round: it removes nothing it
could not check. What remains: a URL signed by another replica in the last write interval (about a
second, ``signed_urls.WRITE_INTERVAL``), or by a process that died before writing it, is not known
here yet; its media may be removed if that sweep runs just then (the URL then answers 404, as for
a deleted video).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

from gateway.config import MediaSettings
from gateway.media.signing import FRESH_SECONDS, UrlSigner
from gateway.media.storage import MediaStore, StoredMedia
from gateway.store.base import Store

log = structlog.get_logger("gateway.service.retention")
MIB = 1024 * 1024
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The limits, in seconds and bytes (0: no limit); ``min_age`` protects the youngest media."""

    max_age: float
    max_total: int
    min_age: float

    @classmethod
    def from_settings(cls, media: MediaSettings) -> RetentionPolicy:
        """The ``[media]`` section's limits; negative values count as 0 (off)."""
        return cls(
            max_age=max(0.0, media.max_age_hours * HOUR),
            max_total=max(0, media.max_total_mb * MIB),
            # A URL signed for media made within FRESH_SECONDS is not remembered (signing.py).
            min_age=float(max(0, media.url_ttl_seconds)) + FRESH_SECONDS,
        )


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What a sweep did: media removed, bytes freed, and the bytes still stored."""

    removed: int
    freed: int
    remaining: int


def plan_sweep(
    entries: Iterable[StoredMedia], *, policy: RetentionPolicy, protected: frozenset[str], now: float
) -> list[StoredMedia]:
    """The media to remove, oldest first: the expired, then the oldest while over the size cap."""
    stored = list(entries)
    total = sum(e.size for e in stored)
    removable = sorted(
        (e for e in stored if e.id not in protected and now - e.created_at >= policy.min_age),
        key=lambda e: (e.created_at, e.id),
    )
    doomed: list[StoredMedia] = []
    for entry in removable:  # oldest first, so once one may stay, every younger one may too
        expired = policy.max_age > 0 and now - entry.created_at > policy.max_age
        over = policy.max_total > 0 and total > policy.max_total
        if not (expired or over):
            break
        doomed.append(entry)
        total -= entry.size
    return doomed


class MediaCleaner:
    """Sweeps the media store by a :class:`RetentionPolicy`."""

    def __init__(
        self,
        *,
        media: MediaStore,
        store: Store,
        signer: UrlSigner,
        policy: RetentionPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._media = media
        self._store = store
        self._signer = signer
        self._policy = policy
        self._clock = clock

    async def sweep(self) -> SweepReport:
        """One pass: remove what the policy allows, records first, then files."""
        entries = await self._media.entries()
        doomed = plan_sweep(entries, policy=self._policy, protected=await self.protected(), now=self._clock())
        freed = 0
        for entry in doomed:
            await self._store.delete_media(entry.id)
            if await self._media.delete(entry.id):
                freed += entry.size
        report = SweepReport(len(doomed), freed, sum(e.size for e in entries) - freed)
        if report.removed:
            log.info("media_swept", removed=report.removed, freed_bytes=freed, stored_bytes=report.remaining)
        if 0 < self._policy.max_total < report.remaining:
            log.warning("media_over_cap", stored_bytes=report.remaining, cap_bytes=self._policy.max_total)
        return report

    async def protected(self) -> frozenset[str]:
        """Ids that must stay: used by an unfinished task, or behind a URL that still opens (signed
        by any replica: the store's record, and this signer's entries not written to it yet)."""
        ids = set(await self._store.signed_media(self._clock()))
        ids.update(self._signer.unexpired())  # after the store's read: nothing signed here falls between
        for task in await self._store.unfinished_tasks():
            ids.update(task.inputs)
            ids.update(task.results)
            ids.add(task.poster)
        ids.discard("")
        return frozenset(ids)

    async def run(self, *, interval: float) -> None:
        """Sweep every ``interval`` seconds until cancelled; a failing sweep is logged and tried again
        next time. Returns at once when ``interval`` is 0 or less (retention off)."""
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except (OSError, ValueError) as exc:  # the disk or the store failed: try again next time
                # (a store away fails protected(), before anything is removed: the round is skipped)
                log.warning("media_sweep_failed", error=type(exc).__name__)
