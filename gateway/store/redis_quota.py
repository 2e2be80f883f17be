"""Licence counters shared by every replica on one Redis: the rate window, generations in progress,
day and month tallies, and the holds (reservations) by work id, so that the replica settling a hold
need not be the one that made it (a video taken over by another replica settles there).

Admission is one script (check, then reserve, or nothing), settlement one, both atomic; see
``store/redis_quota_scripts.py`` for the key layout. A settlement carries a nonce: retried after its
answer was lost, it answers the same again and changes nothing twice. Holds of synchronous work
expire unless their replica renews them, so a replica that dies gives back what its requests held.
The service adapts this to its own counters' seam (``service/quota/shared.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import orjson
from redis.asyncio import Redis

from gateway.domain import LicenceDefinition, UsageRecord
from gateway.domain.quota import QuotaCounts, QuotaRefusal
from gateway.store import redis_quota_scripts as lua
from gateway.store.redis_facet import as_bytes, as_text, guarded
from gateway.store.usage_codec import usage_from_json, usage_to_json

REAP_BATCH = 100


@guarded
class RedisQuota:
    """The shared counters under ``base`` (the store's prefix and ``q:``)."""

    def __init__(self, redis: Redis, base: str) -> None:
        self._redis, self._base = redis, base
        self._admit = redis.register_script(lua.ADMIT)
        self._settle = redis.register_script(lua.SETTLE)
        self._renew = redis.register_script(lua.RENEW)
        self._reap = redis.register_script(lua.REAP)
        self._load = redis.register_script(lua.LOAD)
        self._counts = redis.register_script(lua.COUNTS)

    async def admit(
        self, licence: LicenceDefinition, records: Sequence[UsageRecord], *, hold_ttl: float
    ) -> QuotaRefusal | None:
        """Reserve ``records`` (one per copy, alike but for their ids) against ``licence``, or say
        which limit refuses them (then nothing changed). ``hold_ttl`` > 0: the holds expire unless
        renewed."""
        first = records[0]
        each = first.credits_reserved // max(1, first.count)
        args: list[str | int | bytes] = [
            self._base,
            licence.id,
            licence.rpm,
            licence.max_concurrency,
            licence.daily_images,
            licence.daily_videos,
            licence.daily_credits,
            licence.monthly_credits,
            first.kind,
            first.count,
            each,
            first.day,
            round(hold_ttl * 1000),
            len(records),
            *(r.id for r in records),
            *(usage_to_json(r) for r in records),
        ]
        answer = cast("list[object]", await self._admit(args=args))
        if as_text(answer[0]) == "ok":
            return None
        reason, used, limit, asked, wait = answer
        return QuotaRefusal(as_text(reason), _int(used), _int(limit), _int(asked), _int(wait) / 1000)

    async def settle(self, work_id: str, delivered: int, nonce: str) -> tuple[UsageRecord, int] | None:
        """Give back the hold of ``work_id`` but ``delivered`` of its count (capped at it): its
        usage record as reserved and what it delivered, or None when nothing is held."""
        answer = await self._settle(args=[self._base, work_id, delivered, nonce])
        if answer is None:
            return None
        doc, made = cast("list[object]", answer)
        return usage_from_json(_doc(doc)), _int(made)

    async def renew(self, work_ids: Sequence[str], ttl: float) -> None:
        """Push the deadlines of holds still held ``ttl`` seconds ahead (settled ones stay gone)."""
        if work_ids:
            await self._renew(args=[self._base, round(ttl * 1000), *work_ids])

    async def reap(self) -> list[UsageRecord]:
        """Give back holds past their deadline; their usage records as reserved."""
        found = cast("list[object]", await self._reap(args=[self._base, REAP_BATCH]))
        return [usage_from_json(_doc(doc)) for doc in found]

    async def load(
        self,
        days: Mapping[tuple[str, str], tuple[int, int, int]],
        months: Mapping[tuple[str, str], int],
        holds: Sequence[UsageRecord],
        *,
        hold_ttl: float,
    ) -> bool:
        """Set the counters rebuilt from usage records (day tallies by (licence, day): images,
        videos, credits; month credits by (licence, month); holds), unless they were set already:
        False then, and nothing changed."""
        payload = {
            "days": [[lic, day, *tally] for (lic, day), tally in days.items()],
            "months": [[lic, month, credits] for (lic, month), credits in months.items()],
            "holds": [
                [
                    r.id,
                    r.licence_id,
                    r.kind,
                    r.day,
                    r.count,
                    r.credits_reserved,
                    usage_to_json(r).decode(),
                    not r.task_id,
                ]
                for r in holds
            ],
        }
        loaded = await self._load(args=[self._base, orjson.dumps(payload), round(hold_ttl * 1000)])
        return _int(loaded) == 1

    async def counts(self, licence_id: str, day: str, month: str) -> QuotaCounts:
        """A licence's counters now (by Redis's clock)."""
        now, used, oldest, newest, busy, images, videos, credits, month_credits = (
            _int(v)
            for v in cast("list[object]", await self._counts(args=[self._base, licence_id, day, month]))
        )
        return QuotaCounts(
            now / 1000, used, oldest / 1000, newest / 1000, busy, images, videos, credits, month_credits
        )


def _int(value: object) -> int:
    return int(as_text(value))


def _doc(value: object) -> bytes:
    raw = as_bytes(value)
    if raw is None:
        raise ValueError("a hold without its usage record")
    return raw
