"""Leasing and fair waiting over the account table.

``lease()`` is the only way to use an account: an async context manager that holds one slot of the
account's per-capability limit and frees it on exit, whatever happens. When every capable account
is busy or cooling down, callers wait (bounded) for a slot; when none could ever serve, they get a
:class:`NoEligibleAccountError` at once that says why (the service words it for the client).
Selection is the table's ``SelectionIndex`` (O(classes + log n) per pick); accounts change only
through the ``AccountTable``.

A slot is counted twice: in this process's index first (synchronously, so no two local requests
race for it), then in the slot ledger, which with several replicas may refuse what the index
thought free. A refused pick teaches the table's mirror what the other replicas hold and picks
again (a few times), then waits; a slot freed on another replica wakes the waiters here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

from gateway.domain import Capability
from gateway.pool import policy
from gateway.pool.account import Account
from gateway.pool.admission import check_capable, no_capacity, worth_waiting
from gateway.pool.index import Want
from gateway.pool.lease import Lease, OutcomeDetail
from gateway.pool.ledger import Claim, LocalSlots, SlotLedger
from gateway.pool.policy import Outcome
from gateway.pool.refusal import Ineligible, NoEligibleAccountError
from gateway.pool.table import AccountTable, Catalogue
from gateway.pool.waiters import WaitQueue

__all__ = [
    "AccountPool",
    "AccountTable",
    "Catalogue",
    "Lease",
    "LeaseRequest",
    "NoEligibleAccountError",
    "OutcomeDetail",
]

LeaseRequest = Want
REPICKS = 3  # picks a ledger may refuse before a lease waits (each refusal teaches the mirror)
PINNED_BUSY_RETRY = 5.0  # seconds a follow-up is told to wait for its busy account
PINNED_GONE_RETRY = 30.0  # seconds a follow-up is told to wait for an account that cannot serve


class AccountPool:
    """Fair leasing of the table's accounts, their slots counted in a ledger."""

    def __init__(
        self,
        accounts: Iterable[Account] | AccountTable = (),
        *,
        wait_timeout: float = 30.0,
        max_waiters: int = 1000,
        clock: Callable[[], float] = time.time,
        ledger: SlotLedger | None = None,
    ) -> None:
        self.table = accounts if isinstance(accounts, AccountTable) else AccountTable(accounts, clock=clock)
        self._ledger: SlotLedger = ledger or LocalSlots()
        self._wait_timeout = wait_timeout
        self._clock = clock
        self._freed = asyncio.Event()  # set on every release, for leases pinned to one account
        self._max_waiters = max_waiters
        self._waiters = WaitQueue(take=self._take, give_back=self._give_back, soonest=self._soonest)
        self.waits = 0
        self.wait_seconds = 0.0
        self.picks: Counter[str] = Counter()
        self.table.on_ready(self._wake)
        self._ledger.on_freed(self._freed_elsewhere)

    @asynccontextmanager
    async def lease(self, request: LeaseRequest) -> AsyncIterator[Lease]:
        """Hold a slot on the best account for ``request``; waits (bounded) when all are busy."""
        account, claim = await self._acquire(request)  # counted by the pick itself, before any await
        lease = Lease(self.table, account, request)
        try:
            yield lease
        finally:
            await self._release(lease, claim)

    @asynccontextmanager
    async def lease_on(self, account_id: str, capability: Capability) -> AsyncIterator[Lease]:
        """A slot on one given account (follow-ups of its own media: an extend, an upscale); waits
        (bounded) for room; refused at once when the account cannot serve at all."""
        request = LeaseRequest(capability)
        account = self._serving(account_id, request)
        deadline = self._clock() + self._wait_timeout
        while True:
            self.table.mirror.expire()
            if self._may_take(account, capability):
                self._count(account, capability)
                claim = await self._confirm(account, request)
                if claim is not None:
                    break
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise NoEligibleAccountError(Ineligible.PINNED_BUSY, request, retry_after=PINNED_BUSY_RETRY)
            freed = self._freed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 1.0)):  # also sees a cooldown ending
                    await freed.wait()
            account = self._serving(account_id, request)
        lease = Lease(self.table, account, request)
        try:
            yield lease
        finally:
            await self._release(lease, claim)

    @asynccontextmanager
    async def hold(self, account_id: str, capability: Capability) -> AsyncIterator[Lease | None]:
        """Count a slot on an account for work already under way there (a task resumed after a
        restart, or taken over from another replica): no wait and no limit check, since the work
        exists whether or not there is room. None when the account is no longer in the pool."""
        account = self.table.get(account_id)
        if account is None:
            yield None
            return
        self._count(account, capability)
        try:
            claim = await self._ledger.hold(account, capability)
        except BaseException:
            self._give_back(account, LeaseRequest(capability))
            raise
        lease = Lease(self.table, account, LeaseRequest(capability))
        try:
            yield lease
        finally:
            await self._release(lease, claim)

    def check(self, request: LeaseRequest) -> None:
        """Raise at once what a lease would when no account could serve ``request`` (tasks check at
        creation, so a client learns it from its create call rather than from a failed task)."""
        check_capable(
            self.table.index, request, self._clock(), paused=self.table.paused, incident=self.table.incident
        )

    @property
    def ledger(self) -> SlotLedger:
        """Where slots are counted beyond this process (its ``run`` is a background loop)."""
        return self._ledger

    @property
    def waiting(self) -> int:
        """Requests waiting for a free account now."""
        return len(self._waiters)

    async def changed(self) -> None:
        """Wake waiters after accounts were added, enabled or changed."""
        self._wake()

    # --- taking and freeing slots -----------------------------------------------------------

    async def _acquire(self, request: LeaseRequest) -> tuple[Account, Claim]:
        self.check(request)
        for _ in range(REPICKS):
            account = self._take(request)
            if account is None:
                break
            claim = await self._confirm(account, request)
            if claim is not None:
                return account, claim
        return await self._wait_for(request)

    async def _wait_for(self, request: LeaseRequest) -> tuple[Account, Claim]:
        index, now = self.table.index, self._clock()
        if self.waiting >= self._max_waiters:
            raise no_capacity(index, request, now)  # the queue is full: do not make it longer
        if not worth_waiting(index, request, now, self._wait_timeout):
            raise no_capacity(index, request, now)  # all cool down beyond the budget: say when, now
        started = now
        try:
            async with asyncio.timeout(self._wait_timeout):
                while True:
                    account = self._take(request) or await self._waiters.wait(request)
                    claim = await self._confirm(account, request)
                    if claim is not None:
                        return account, claim
        except TimeoutError:
            raise no_capacity(index, request, self._clock()) from None
        finally:
            self.waits += 1
            self.wait_seconds += self._clock() - started

    async def _confirm(self, account: Account, request: LeaseRequest) -> Claim | None:
        """The ledger's word on a slot the index counted: the claim, or None (refused: the local
        count is undone without waking anyone, since the slot is not free anywhere)."""
        capability = request.capability
        try:
            claim = await self._ledger.claim(account, capability)
        except BaseException:
            self._give_back(account, request)  # Redis away, or the caller gave up: free it here
            raise
        if claim.granted:
            if claim.held is not None:
                self.table.mirror.held(account, capability, claim.held)
            return claim
        self.table.unpick(account, capability)
        if claim.held is not None:
            self.table.mirror.held(account, capability, claim.held)
        if claim.until:
            self.table.mirror.hold_off(account, capability, claim.until)
        return None

    def _take(self, request: LeaseRequest) -> Account | None:
        self.table.mirror.expire()
        account = self.table.index.pick(request, self._clock())
        if account is not None:
            self._count(account, request.capability)
        return account

    def _count(self, account: Account, capability: Capability) -> None:
        self.table.take_slot(account, capability)
        self.picks[capability.value] += 1

    async def _release(self, lease: Lease, claim: Claim) -> None:
        self._give_back(lease.account, lease.request)  # here first: local waiters need no round trip
        await self._ledger.release(claim.lease_id, made=int(lease.outcome is Outcome.SUCCESS))

    def _give_back(self, account: Account, request: LeaseRequest) -> None:
        """Free a slot: the first waiter it can serve gets it; pinned waiters look again."""
        self.table.free_slot(account, request.capability)
        self._wake()

    def _freed_elsewhere(self, account_id: str, capability: Capability, held: int) -> None:
        account = self.table.get(account_id)
        if account is not None:
            self.table.mirror.held(account, capability, held)
            self._wake()

    def _wake(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()
        self._waiters.dispatch()

    def _soonest(self, request: LeaseRequest) -> float | None:
        soonest = self.table.index.soonest_ready(request, self._clock())
        stale = self.table.mirror.next_expiry()
        if stale is None or (soonest is not None and soonest <= stale):
            return soonest
        return stale

    def _serving(self, account_id: str, request: LeaseRequest) -> Account:
        account = self.table.get(account_id)
        if account is None or account.health.state not in policy.SERVING:
            raise NoEligibleAccountError(Ineligible.PINNED_GONE, request, retry_after=PINNED_GONE_RETRY)
        return account

    def _may_take(self, account: Account, capability: Capability) -> bool:
        now = self._clock()
        return (
            policy.can_serve(account.health, now)
            and account.has_room(capability)
            and account.blocked_until(capability, now) <= now
        )
