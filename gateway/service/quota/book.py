"""The seam between admission and the counters it checks: a :class:`Book` of reservations.

One process keeps its counters in memory (:class:`LocalBook`: the embedded default, a thin wrapper
over ``counters.py``, costing what it always did); replicas on Redis share theirs
(``shared.py``'s ``SharedBook``). Either way, :meth:`Book.admit` checks and reserves at once (or
raises the 429 that explains why not), and :meth:`Book.settle` replaces a reservation, found by its
work id, with what was spent. A book also says where a licence stands (``/v1/licence``, the
``x-ratelimit-*`` headers) and takes the counters a start rebuilt from the usage records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.domain import Kind, LicenceDefinition, UsageRecord
from gateway.service.quota.counters import Counters, Demand, Hold, Tally, Window
from gateway.service.quota.rules import day_of, month_of

Settled = tuple[UsageRecord, int]  # the reservation's usage record as made, and what it delivered


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a licence stands now: today's and this month's use, work in progress, its rate window."""

    day: str
    month: str
    today: Tally
    month_credits: int
    in_progress: int
    window: Window


class Book(Protocol):
    """Where admissions reserve and settlements give back."""

    @property
    def upkeep(self) -> float:
        """Seconds between :meth:`keep` rounds; 0 when the book needs none."""
        ...

    async def admit(
        self, licence: LicenceDefinition, demand: Demand, records: Sequence[UsageRecord], now: float
    ) -> None:
        """Reserve ``records`` (one per copy of ``demand``), or raise the 429 and reserve nothing."""
        ...

    async def settle(self, work_id: str, delivered: int, nonce: str) -> Settled | None:
        """Give back the reservation of ``work_id`` but ``delivered`` of its count (capped at it,
        at its price each); None when it holds none. The same ``nonce`` again (a retry) answers the
        same and changes nothing twice."""
        ...

    async def standing(self, licence: LicenceDefinition, now: float) -> Standing:
        """The licence's counters at ``now``."""
        ...

    async def window(self, licence: LicenceDefinition, now: float) -> Window:
        """The licence's requests-per-minute window at ``now``."""
        ...

    async def load(self, rebuilt: LocalBook) -> bool:
        """Take counters rebuilt from the usage records; False when the book kept its own (shared
        counters that are counting already: loading them again would count twice)."""
        ...

    async def keep(self) -> list[UsageRecord]:
        """One upkeep round: the reservations given back because nobody kept them (as made)."""
        ...


class LocalBook:
    """This process's counters (``counters.py``) and the usage records of its reservations."""

    upkeep = 0.0

    def __init__(self) -> None:
        self.counters = Counters()
        self.reserved: dict[str, UsageRecord] = {}  # generations admitted and not settled

    async def admit(
        self, licence: LicenceDefinition, demand: Demand, records: Sequence[UsageRecord], now: float
    ) -> None:
        """Check and reserve (synchronously: nothing can come between them on this loop)."""
        self.counters.admit(licence, demand, [r.id for r in records], now)
        self.reserved.update((r.id, r) for r in records)

    async def settle(self, work_id: str, delivered: int, nonce: str) -> Settled | None:
        """Give back a reservation (the nonce is not needed: nothing here is ever half-written)."""
        record = self.reserved.pop(work_id, None)
        if record is None:
            return None
        delivered = max(0, min(delivered, record.count))
        self.counters.settle(work_id, delivered=delivered, credits=delivered * price_of(record))
        return record, delivered

    async def standing(self, licence: LicenceDefinition, now: float) -> Standing:
        """From the counters."""
        return Standing(
            day=day_of(now),
            month=month_of(now),
            today=self.counters.today(licence.id, now),
            month_credits=self.counters.month(licence.id, now),
            in_progress=self.counters.in_progress(licence.id),
            window=self.counters.window(licence, now),
        )

    async def window(self, licence: LicenceDefinition, now: float) -> Window:
        """From the counters."""
        return self.counters.window(licence, now)

    async def load(self, rebuilt: LocalBook) -> bool:
        """Take them (a start: nothing was counted before)."""
        self.counters, self.reserved = rebuilt.counters, rebuilt.reserved
        return True

    async def keep(self) -> list[UsageRecord]:
        """Nothing to keep: this process's reservations end with it."""
        return []

    def hold_again(self, record: UsageRecord) -> None:
        """Count a reservation read back from the store (at start) as held again."""
        month = record.day[:7]  # YYYY-MM of the YYYY-MM-DD it was reserved on
        kind, credits = Kind(record.kind), record.credits_reserved
        self.reserved[record.id] = record
        self.counters.hold(record.id, Hold(record.licence_id, kind, record.day, month, record.count, credits))


def price_of(record: UsageRecord) -> int:
    """What one image (or the video) of a reservation costs."""
    return record.credits_reserved // max(1, record.count)
