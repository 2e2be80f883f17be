"""Requests waiting for a free account: higher priority first, then first come, first served.

A freed slot (or an account whose cooldown ended) is handed to the first waiter whose want it can
serve: that waiter alone is woken, with the slot already counted for it, so no crowd of waiters
races for it and no newcomer takes it first. Waiters with another want (a group, a tier) are not
blocked behind one that cannot be served. When nothing is free, one timer wakes the queue when the
soonest cooldown of a waiting want ends.

The order is the want's ``priority`` (a licence's), highest first, and arrival within a priority.
A lower priority is served only when no higher one can use the slot: under sustained pressure from
higher priorities it waits until its deadline (the pool's ``wait_timeout``, a task's
``queue_timeout``) and gets the 429 it would have had anyway; nothing ages a waiter up.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.pool.account import Account
from gateway.pool.index import Want

MIN_WAKE = 0.01  # seconds: a cooldown "ending now" still gets a real timer


@dataclass(eq=False, slots=True)
class _Waiter:
    want: Want
    arrival: int
    future: asyncio.Future[Account] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def rank(self) -> tuple[int, int]:
        """Where the waiter stands in the queue: higher priority first, then earlier arrival."""
        return -self.want.priority, self.arrival


class WaitQueue:
    """The queue of waiting leases; ``take`` picks and counts a slot, ``give_back`` undoes that."""

    def __init__(
        self,
        *,
        take: Callable[[Want], Account | None],
        give_back: Callable[[Account, Want], None],
        soonest: Callable[[Want], float | None],
    ) -> None:
        self._take = take
        self._give_back = give_back
        self._soonest = soonest
        self._queue: list[_Waiter] = []  # in rank order
        self._arrivals = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return sum(1 for w in self._queue if not w.future.done())

    async def wait(self, want: Want) -> Account:
        """The slot handed to this waiter (bound the wait with ``asyncio.timeout``)."""
        waiter = _Waiter(want, next(self._arrivals))
        bisect.insort(self._queue, waiter, key=lambda w: w.rank)
        self._arm()
        try:
            return await waiter.future
        except BaseException:
            if waiter.future.done() and not waiter.future.cancelled():
                # Handed over just as the waiter gave up (its deadline, its client): it goes back.
                self._give_back(waiter.future.result(), waiter.want)
            else:
                waiter.future.cancel()  # leaves the queue lazily (``dispatch`` skips it)
            raise

    def dispatch(self) -> None:
        """Hand what is free to the waiters, in rank order (one failed pick per distinct want)."""
        unserved: set[Want] = set()
        kept: list[_Waiter] = []
        for waiter in self._queue:
            if waiter.future.done():
                continue
            if waiter.want not in unserved:
                account = self._take(waiter.want)
                if account is not None:
                    waiter.future.set_result(account)
                    continue
                unserved.add(waiter.want)
            kept.append(waiter)
        self._queue = kept
        self._arm()

    def _arm(self) -> None:
        """One timer for the soonest cooldown end among the waiting wants."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        wants = {w.want for w in self._queue if not w.future.done()}
        waits = [s for want in wants if (s := self._soonest(want)) is not None]
        if waits:
            self._timer = asyncio.get_running_loop().call_later(max(MIN_WAKE, min(waits)), self.dispatch)
