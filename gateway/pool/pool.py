"""The account pool: leases with limits, fair waiting, outcomes turned into health.

``lease()`` is the only way to use an account: an async context manager that holds one slot of the
account's per-capability limit and frees it on exit, whatever happens. When every capable account
is busy or cooling down, callers wait (bounded) for a slot; when none could ever serve, they get an
immediate error that says why. Selection is the ``SelectionIndex`` (O(classes + log n) per pick).
Accounts are added, changed and removed here too (``gateway.service.account_registry`` decides
when), so
every change re-indexes the account.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager

import structlog

from gateway.domain import AccountRecord, Capability, Tier
from gateway.errors import NoCapacityError, ServiceUnavailableError
from gateway.pool import policy
from gateway.pool.account import QUOTA, Account, next_midnight
from gateway.pool.admission import check_capable, no_capacity, worth_waiting
from gateway.pool.incident import IncidentWatch
from gateway.pool.index import SelectionIndex, Want
from gateway.pool.lease import Lease, OutcomeDetail
from gateway.pool.policy import AccountState, Outcome
from gateway.pool.records import AccountView, apply_record, record_of, view_of
from gateway.pool.waiters import WaitQueue

__all__ = ["AccountPool", "Catalogue", "Lease", "LeaseRequest", "OutcomeDetail"]

log = structlog.get_logger("gateway.pool")
LeaseRequest = Want
# What an account's catalogue told: its offers (None: unknown), model keys, what could not be read.
Catalogue = tuple[frozenset[str] | None, tuple[str, ...], tuple[str, ...]]


class AccountPool:
    """Accounts, their limits and health, and fair leasing."""

    def __init__(
        self,
        accounts: Iterable[Account] = (),
        *,
        rules: policy.Rules | None = None,
        wait_timeout: float = 30.0,
        max_waiters: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._accounts: dict[str, Account] = {a.id: a for a in accounts}
        self._rules = rules or policy.Rules()
        self._wait_timeout = wait_timeout
        self._clock = clock
        self._freed = asyncio.Event()  # set on every release, for leases pinned to one account
        self._max_waiters = max_waiters
        self._waiters = WaitQueue(take=self._take, give_back=self._give_back, soonest=self._soonest)
        self.waits = 0
        self.wait_seconds = 0.0
        self.outcomes: Counter[str] = Counter()
        self.picks: Counter[str] = Counter()
        self.cooldowns = 0
        self._dirty: set[str] = set()
        # Features Flow is short of capacity for, for everybody (OVERLOADED), until a time.
        self.paused: dict[str, float] = {}
        self.incident = IncidentWatch()
        self._index = SelectionIndex()
        for account in self._accounts.values():
            self._index.update(account, clock())

    @property
    def accounts(self) -> Sequence[Account]:
        """Every account (for the service's refresh loop)."""
        return list(self._accounts.values())

    def get(self, account_id: str) -> Account | None:
        """An account by id."""
        return self._accounts.get(account_id)

    @asynccontextmanager
    async def lease(self, request: LeaseRequest) -> AsyncIterator[Lease]:
        """Hold a slot on the best account for ``request``; waits (bounded) when all are busy."""
        account = await self._acquire(request)  # counted by the pick itself, before any await
        try:
            yield Lease(self, account, request)
        finally:
            await self._release(account, request.capability)

    @asynccontextmanager
    async def lease_on(self, account_id: str, capability: Capability) -> AsyncIterator[Lease]:
        """A slot on one given account (follow-ups of its own media: an extend, an upscale); waits
        (bounded) for room; 503 when the account cannot serve at all."""
        account = self._serving(account_id)
        deadline = self._clock() + self._wait_timeout
        while not self._may_take(account, capability):
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise NoCapacityError(
                    "the Flow account holding this video is busy; retry later", retry_after=5
                )
            freed = self._freed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 1.0)):  # also sees a cooldown ending
                    await freed.wait()
            account = self._serving(account_id)
        async with self._held(account, LeaseRequest(capability)) as lease:
            yield lease

    @asynccontextmanager
    async def hold(self, account_id: str, capability: Capability) -> AsyncIterator[Lease | None]:
        """Count a slot on an account for work already under way there (a task resumed after a
        restart): no wait and no limit check, since the work exists whether or not there is room.
        None when the account is no longer in the pool."""
        account = self._accounts.get(account_id)
        if account is None:
            yield None
            return
        async with self._held(account, LeaseRequest(capability)) as lease:
            yield lease

    @asynccontextmanager
    async def _held(self, account: Account, request: LeaseRequest) -> AsyncIterator[Lease]:
        self._count(account, request.capability)
        try:
            yield Lease(self, account, request)
        finally:
            await self._release(account, request.capability)

    def _count(self, account: Account, capability: Capability) -> None:
        account.inflight[capability] += 1
        self._index.picked(account, self._clock(), capability)
        self.picks[capability.value] += 1

    async def _release(self, account: Account, capability: Capability) -> None:
        self._give_back(account, LeaseRequest(capability))

    def _give_back(self, account: Account, request: LeaseRequest) -> None:
        """Free a slot: the first waiter it can serve gets it; pinned waiters look again."""
        account.inflight[request.capability] -= 1
        if self._accounts.get(account.id) is account:  # a removed account is not indexed again
            self._index.moved(account, request.capability, self._clock())
        self._wake()

    def _wake(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()
        self._waiters.dispatch()

    def _soonest(self, request: LeaseRequest) -> float | None:
        return self._index.soonest_ready(request, self._clock())

    @property
    def waiting(self) -> int:
        """Requests waiting for a free account now."""
        return len(self._waiters)

    def _serving(self, account_id: str) -> Account:
        account = self._accounts.get(account_id)
        if account is None or account.health.state not in policy.SERVING:
            raise ServiceUnavailableError(
                "the Flow account holding this video cannot serve now",
                code="account_unavailable",
                retry_after=30,
            )
        return account

    def _may_take(self, account: Account, capability: Capability) -> bool:
        now = self._clock()
        return (
            policy.can_serve(account.health, now)
            and account.has_room(capability)
            and account.blocked_until(capability, now) <= now
        )

    def record(
        self,
        account: Account,
        outcome: Outcome,
        *,
        retry_after: float | None,
        detail: OutcomeDetail | None = None,
    ) -> None:
        """Apply an outcome to an account (policy is pure; this is the only mutation of health)."""
        detail = detail or OutcomeDetail()
        now = self._clock()
        account.health = policy.apply(
            account.health, outcome, now=now, retry_after=retry_after, rules=self._rules
        )
        self.outcomes[outcome.value] += 1
        if outcome is Outcome.SUCCESS:
            account.usage.produced(detail.capability, credits=detail.credits, now=now)
            if self.incident.succeeded(account.id):
                log.info("upstream_incident_over")
        else:
            account.usage.failed(detail.error or outcome.value, now=now)
        if outcome is Outcome.TRANSIENT:
            serving = sum(1 for a in self._accounts.values() if a.health.state in policy.SERVING)
            if self.incident.failed(account.id, now=now, serving=serving):
                log.warning(
                    "upstream_incident",
                    accounts_failing=len(self.incident.failing),
                    until=self.incident.until,
                )
        if outcome is Outcome.RATE_LIMITED:
            self.cooldowns += 1
        elif outcome is Outcome.CAPTCHA:
            account.usage.captcha_refusals += 1
        elif outcome is Outcome.FORBIDDEN and detail.feature:
            account.refused[detail.feature] = now + self._rules.refusal_ttl
        elif outcome is Outcome.MODEL_QUOTA and detail.feature:
            account.refused[QUOTA + detail.feature] = next_midnight(now)
        elif outcome is Outcome.CONCURRENCY:
            # Flow refused one more job than the ones running: its limit is what runs now, at least 1.
            running = account.inflight[detail.capability] - 1
            account.limits[detail.capability] = max(1, min(account.limits.get(detail.capability, 1), running))
        elif outcome is Outcome.OVERLOADED and detail.feature:
            self.paused[detail.feature] = now + (retry_after or self._rules.base_cooldown)
        self._touch(account)

    def update_info(  # noqa: PLR0913 - keyword-only facts Flow reported
        self,
        account_id: str,
        *,
        tier: Tier,
        credits: int | None,
        email: str = "",
        tier_read: bool = True,
        catalogue: Catalogue | None = None,
    ) -> None:
        """What Flow reported about an account (tier, credits, its catalogue); credits back lift
        OUT_OF_CREDITS. A tier Flow reported wins over a declared one, which is the fallback."""
        account = self._accounts.get(account_id)
        if account is None:
            return
        account.tier = tier if tier_read or account.declared_tier is None else account.declared_tier
        account.credits, account.info_at = credits, self._clock()
        account.email = email or account.email
        if catalogue is not None:
            account.offers, account.models, account.problems = catalogue
        state = account.health.state
        if (state is AccountState.OUT_OF_CREDITS and credits) or state is AccountState.REFRESHING:
            account.health = policy.Health(since=self._clock())
        self._touch(account)

    def spend(self, account_id: str, credits: int) -> None:
        """Take spent credits off what Flow last reported, until it reports again."""
        account = self._accounts.get(account_id)
        if account is not None and account.credits is not None and credits:
            account.credits = max(0, account.credits - credits)
            self._touch(account)

    def note_credits(self, account_id: str, credits: int) -> None:
        """Credits Flow reported in a reply (``remainingCredits``)."""
        account = self._accounts.get(account_id)
        if account is not None:
            self.update_info(account_id, tier=account.tier or Tier.FREE, credits=credits)

    def add(self, account: Account) -> Account:
        """Add an account; an existing one with that id is kept and returned."""
        kept = self._accounts.setdefault(account.id, account)
        self._touch(kept)
        return kept

    def remove(self, account_id: str) -> bool:
        """Take an account out of the pool (leases already held finish normally)."""
        account = self._accounts.pop(account_id, None)
        self._index.remove(account_id)
        self._dirty.discard(account_id)
        return account is not None

    def set_health(self, account_id: str, health: policy.Health) -> None:
        """Put an account in a state decided outside the policy (admin, credential checks)."""
        account = self._accounts.get(account_id)
        if account is not None:
            account.health = health
            self._touch(account)

    def reindex(self, account: Account) -> None:
        """Re-index an account whose tier, groups or limits changed outside the pool's own methods."""
        self._touch(account)

    async def changed(self) -> None:
        """Wake waiters after accounts were added, enabled or changed."""
        await self._notify()

    async def set_reachable(self, account_id: str, *, reachable: bool, reason: str = "") -> None:
        """A worker account's worker came or went: unreachable accounts wait (not errors) for it."""
        account = self._accounts.get(account_id)
        if account is None:
            return
        now = self._clock()
        if account.health.state is AccountState.DISABLED:
            return  # an administrator's (or the policy's) verdict outlives the worker's comings and goings
        if not reachable:
            account.health = policy.Health(
                AccountState.NEEDS_WORKER, reason or "its browser worker is not connected", since=now
            )
        elif account.health.state in {AccountState.NEEDS_WORKER, AccountState.REFRESHING}:
            account.health = policy.Health(since=now)
            account.info_at = 0.0  # back through a worker: what Flow says of it is read again
        self._touch(account)
        if reachable:
            await self._notify()

    def take_changes(self) -> list[AccountRecord]:
        """Records of the accounts changed since the last call (for the store)."""
        changed = [self._accounts[i] for i in self._dirty if i in self._accounts]
        self._dirty.clear()
        return [record_of(a) for a in changed]

    def restore(self, records: Mapping[str, AccountRecord]) -> int:
        """Put saved runtime state back on the accounts the pool has; returns how many were restored."""
        restored = 0
        for account in self._accounts.values():
            record = records.get(account.id)
            if record is None:
                continue
            apply_record(account, record)
            self._index.update(account, self._clock())
            restored += 1
        return restored

    def snapshot(self) -> list[AccountView]:
        """Every account's state, for metrics and admin."""
        now = self._clock()
        return [view_of(a, now) for a in self._accounts.values()]

    def view(self, account_id: str) -> AccountView | None:
        """One account's state."""
        account = self._accounts.get(account_id)
        return view_of(account, self._clock()) if account is not None else None

    def _touch(self, account: Account) -> None:
        self._dirty.add(account.id)
        self._reindex(account)

    def _reindex(self, account: Account) -> None:
        if self._accounts.get(account.id) is account:  # a removed account is not indexed again
            self._index.update(account, self._clock())

    async def _acquire(self, request: LeaseRequest) -> Account:
        self._check_capable(request)
        account = self._take(request)
        if account is not None:
            return account
        if self.waiting >= self._max_waiters:
            raise self._no_capacity(request)  # the queue is full: do not make it longer
        if not worth_waiting(self._index, request, self._clock(), self._wait_timeout):
            raise self._no_capacity(request)  # all cool down beyond the budget: say when, now
        started = self._clock()
        try:
            async with asyncio.timeout(self._wait_timeout):
                return await self._waiters.wait(request)
        except TimeoutError:
            raise self._no_capacity(request) from None
        finally:
            self.waits += 1
            self.wait_seconds += self._clock() - started

    def _take(self, request: LeaseRequest) -> Account | None:
        now = self._clock()
        account = self._index.pick(request, now)
        if account is not None:
            self._count(account, request.capability)
        return account

    def check(self, request: LeaseRequest) -> None:
        """Raise at once what a lease would when no account could serve ``request`` (tasks check at
        creation, so a client learns it from its create call rather than from a failed task)."""
        self._check_capable(request)

    def _check_capable(self, request: LeaseRequest) -> None:
        check_capable(self._index, request, self._clock(), paused=self.paused, incident=self.incident)

    def _no_capacity(self, request: LeaseRequest) -> NoCapacityError:
        return no_capacity(self._index, request, self._clock())

    async def _notify(self) -> None:
        self._wake()
