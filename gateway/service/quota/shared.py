"""Licence counters shared by replicas (the Redis store's ``store/redis_quota.py``), as a
:class:`~gateway.service.quota.book.Book`: refusals become the same 429s as one process's, its
counts a :class:`Standing`.

A synchronous request's reservation (an image order answered in its response) has no task to end
it elsewhere: it expires ``hold_ttl`` seconds after this replica last renewed it, so a replica that
dies mid-request gives back what its requests held; :meth:`SharedBook.keep` renews this replica's
own and gives back anyone's that expired. A task's reservation does not expire: the task engine
settles it wherever the task ends, on whichever replica runs it then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from gateway.domain import LicenceDefinition, UsageRecord
from gateway.domain.quota import QuotaCounts, QuotaRefusal
from gateway.errors import GatewayError
from gateway.service.quota.book import LocalBook, Settled, Standing
from gateway.service.quota.counters import (
    WINDOW,
    Demand,
    Tally,
    Window,
    busy_refused,
    cap_refused,
    rate_refused,
)
from gateway.service.quota.rules import day_of, month_of

HOLD_TTL = 60.0  # seconds; longer than most image orders take, so renewals are rare work


class SharedCounters(Protocol):
    """What the shared counters do (``store/redis_quota.py``'s ``RedisQuota``, structurally)."""

    async def admit(
        self, licence: LicenceDefinition, records: Sequence[UsageRecord], *, hold_ttl: float
    ) -> QuotaRefusal | None:
        """Check and reserve in one step, or say which limit refuses."""
        ...

    async def settle(self, work_id: str, delivered: int, nonce: str) -> Settled | None:
        """Give back a hold but what was delivered (the same answer again for the same nonce)."""
        ...

    async def renew(self, work_ids: Sequence[str], ttl: float) -> None:
        """Push the deadlines of these holds ``ttl`` seconds ahead."""
        ...

    async def reap(self) -> list[UsageRecord]:
        """Give back the holds past their deadline."""
        ...

    async def load(
        self,
        days: Mapping[tuple[str, str], tuple[int, int, int]],
        months: Mapping[tuple[str, str], int],
        holds: Sequence[UsageRecord],
        *,
        hold_ttl: float,
    ) -> bool:
        """Set counters rebuilt from usage records, unless set already (False)."""
        ...

    async def counts(self, licence_id: str, day: str, month: str) -> QuotaCounts:
        """A licence's counters now."""
        ...


class SharedBook:
    """A :class:`Book` over counters every replica shares."""

    def __init__(self, counters: SharedCounters, *, hold_ttl: float = HOLD_TTL) -> None:
        self._counters = counters
        self._ttl = hold_ttl
        self._mine: set[str] = set()  # synchronous holds made here and not settled: kept alive

    @property
    def upkeep(self) -> float:
        """A few renewals per expiry, so one missed round (a Redis blip) loses nothing."""
        return self._ttl / 3

    async def admit(
        self, licence: LicenceDefinition, demand: Demand, records: Sequence[UsageRecord], now: float
    ) -> None:
        """One script checks and reserves; a refusal raises what one process would have."""
        synchronous = not records[0].task_id
        refusal = await self._counters.admit(licence, records, hold_ttl=self._ttl if synchronous else 0.0)
        if refusal is not None:
            raise refused(refusal)
        if synchronous:
            self._mine.update(r.id for r in records)

    async def settle(self, work_id: str, delivered: int, nonce: str) -> Settled | None:
        """One script; this replica stops renewing the hold once it is settled (not before)."""
        settled = await self._counters.settle(work_id, delivered, nonce)
        self._mine.discard(work_id)
        return settled

    async def standing(self, licence: LicenceDefinition, now: float) -> Standing:
        """From the shared counters (their clock for the rate window)."""
        day, month = day_of(now), month_of(now)
        counts = await self._counters.counts(licence.id, day, month)
        return Standing(
            day=day,
            month=month,
            today=Tally(counts.images, counts.videos, counts.credits),
            month_credits=counts.month_credits,
            in_progress=counts.in_progress,
            window=window_of(licence, counts),
        )

    async def window(self, licence: LicenceDefinition, now: float) -> Window:
        """From the shared counters."""
        return window_of(licence, await self._counters.counts(licence.id, day_of(now), month_of(now)))

    async def load(self, rebuilt: LocalBook) -> bool:
        """Load them into Redis unless a replica did before (then they are counting already)."""
        days, months = rebuilt.counters.tallies()
        holds = list(rebuilt.reserved.values())
        return await self._counters.load(days, months, holds, hold_ttl=self._ttl)

    async def keep(self) -> list[UsageRecord]:
        """Renew this replica's synchronous holds, then give back any replica's that expired."""
        await self._counters.renew(sorted(self._mine), self._ttl)
        return await self._counters.reap()


def window_of(licence: LicenceDefinition, counts: QuotaCounts) -> Window:
    """The rate window as one process computes it (``Counters.window``), from shared counts."""
    now = counts.now
    if not counts.requests:
        return Window(licence.rpm, 0, 0.0)
    reset = counts.oldest + WINDOW - now if counts.requests >= licence.rpm else 0.0
    return Window(licence.rpm, counts.requests, max(0.0, reset), max(0.0, counts.newest + WINDOW - now))


def refused(refusal: QuotaRefusal) -> GatewayError:
    """The 429 a refusal of the shared counters means (the messages one process gives)."""
    if refusal.reason == "rpm":
        return rate_refused(refusal.limit, refusal.used, refusal.wait)
    if refusal.reason == "concurrency":
        return busy_refused(refusal.used, refusal.asked, refusal.limit)
    return cap_refused(refusal.reason, refusal.used, refusal.limit, refusal.asked)
