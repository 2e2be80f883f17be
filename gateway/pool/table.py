"""The account table: the only code that changes an ``Account``.

Every change goes through an intent method here (an outcome recorded, what Flow reported, a
definition applied, a slot taken or freed, what another replica saw), and each one re-indexes the
account and marks it for the store itself, so no caller has to remember to. The pool leases over
this table; the service reads accounts through it and never writes their fields.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import structlog

from gateway.domain import AccountRecord, Capability, Tier
from gateway.pool import policy
from gateway.pool.account import QUOTA, Account, next_midnight
from gateway.pool.incident import IncidentWatch
from gateway.pool.index import SelectionIndex
from gateway.pool.lease import OutcomeDetail
from gateway.pool.mirror import TTL as MIRROR_TTL
from gateway.pool.mirror import Mirror
from gateway.pool.policy import AccountState, Outcome
from gateway.pool.profile import Profile, apply_profile
from gateway.pool.records import AccountView, apply_record, record_of, view_of, with_shared

log = structlog.get_logger("gateway.pool")
# What an account's catalogue told: its offers (None: unknown), model keys, what could not be read.
Catalogue = tuple[frozenset[str] | None, tuple[str, ...], tuple[str, ...]]


class AccountTable:
    """Accounts by id, their selection index, and what changed since the store last saw them."""

    def __init__(
        self,
        accounts: Iterable[Account] = (),
        *,
        rules: policy.Rules | None = None,
        clock: Callable[[], float] = time.time,
        mirror_ttl: float = MIRROR_TTL,
    ) -> None:
        self._accounts: dict[str, Account] = {a.id: a for a in accounts}
        self._rules = rules or policy.Rules()
        self._clock = clock
        self._dirty: set[str] = set()
        self.index = SelectionIndex()
        self.mirror = Mirror(self._reindex, clock=clock, ttl=mirror_ttl)
        self.outcomes: Counter[str] = Counter()
        self.cooldowns = 0
        # Features Flow is short of capacity for, for everybody (OVERLOADED), until a time.
        self.paused: dict[str, float] = {}
        self.incident = IncidentWatch()
        self._on_ready: Callable[[], None] = lambda: None
        for account in self._accounts.values():
            self.index.update(account, clock())

    def on_ready(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` when an account may serve again (the pool wakes its waiters)."""
        self._on_ready = listener

    @property
    def accounts(self) -> Sequence[Account]:
        """Every account (read them; change them through the methods here)."""
        return list(self._accounts.values())

    def get(self, account_id: str) -> Account | None:
        """An account by id."""
        return self._accounts.get(account_id)

    def __len__(self) -> int:
        return len(self._accounts)

    # --- membership -------------------------------------------------------------------------

    def add(self, account: Account) -> Account:
        """Add an account; an existing one with that id is kept and returned."""
        kept = self._accounts.setdefault(account.id, account)
        self._touch(kept)
        return kept

    def remove(self, account_id: str) -> bool:
        """Take an account out (leases already held finish normally)."""
        account = self._accounts.pop(account_id, None)
        self.index.remove(account_id)
        self.mirror.forget(account_id)
        self._dirty.discard(account_id)
        return account is not None

    def define(self, account_id: str, profile: Profile) -> bool:
        """Apply a definition to an account; True when its credentials changed."""
        account = self._accounts.get(account_id)
        if account is None:
            return False
        old_secret = account.session_token
        apply_profile(account, profile)
        self._touch(account)
        return account.session_token != old_secret

    def declare_tier(self, account_id: str, tier: Tier) -> None:
        """A tier announced for an account that declared none (its worker's hello)."""
        account = self._accounts.get(account_id)
        if account is not None and account.declared_tier is None:
            account.declared_tier = account.tier = tier
            self._touch(account)

    # --- slots (the pool's) -----------------------------------------------------------------

    def take_slot(self, account: Account, capability: Capability) -> None:
        """Count a lease on ``account``; it goes to the back among equals."""
        account.inflight[capability] += 1
        self.index.picked(account, self._clock(), capability)

    def unpick(self, account: Account, capability: Capability) -> None:
        """Undo a pick the ledger refused: the slot and its start in the rate window are given back."""
        if account.rpm and account.recent:
            account.recent.pop()
        self.free_slot(account, capability)

    def free_slot(self, account: Account, capability: Capability) -> None:
        """Count a lease off ``account``."""
        account.inflight[capability] -= 1
        self._reindex(account, capability)

    # --- health -----------------------------------------------------------------------------

    def record(
        self,
        account: Account,
        outcome: Outcome,
        *,
        retry_after: float | None,
        detail: OutcomeDetail | None = None,
    ) -> None:
        """Apply an outcome to an account (``policy`` is pure; this is the only mutation of health)."""
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
            self._transient(account, now)
        self._reason(account, outcome, detail, now=now, retry_after=retry_after)
        self._touch(account)

    def _transient(self, account: Account, now: float) -> None:
        serving = sum(1 for a in self._accounts.values() if a.health.state in policy.SERVING)
        if self.incident.failed(account.id, now=now, serving=serving):
            log.warning(
                "upstream_incident", accounts_failing=len(self.incident.failing), until=self.incident.until
            )

    def _reason(
        self,
        account: Account,
        outcome: Outcome,
        detail: OutcomeDetail,
        *,
        now: float,
        retry_after: float | None,
    ) -> None:
        """What an outcome's reason changes beyond health: refusals, limits, pauses, counters."""
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
            capability = detail.capability
            running = account.inflight[capability] + account.elsewhere[capability] - 1
            account.limits[capability] = max(1, min(account.limits.get(capability, 1), running))
        elif outcome is Outcome.OVERLOADED and detail.feature:
            self.paused[detail.feature] = now + (retry_after or self._rules.base_cooldown)

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

    def set_health(self, account_id: str, health: policy.Health) -> None:
        """Put an account in a state decided outside the policy (admin, credential checks)."""
        account = self._accounts.get(account_id)
        if account is not None:
            account.health = health
            self._touch(account)

    def set_reachable(self, account_id: str, *, reachable: bool, reason: str = "") -> None:
        """A worker account's worker came or went: unreachable accounts wait (not errors) for it."""
        account = self._accounts.get(account_id)
        if account is None or account.health.state is AccountState.DISABLED:
            return  # an administrator's (or the policy's) verdict outlives the worker's comings and goings
        now = self._clock()
        if not reachable:
            account.health = policy.Health(
                AccountState.NEEDS_WORKER, reason or "its browser worker is not connected", since=now
            )
        elif account.health.state in {AccountState.NEEDS_WORKER, AccountState.REFRESHING}:
            account.health = policy.Health(since=now)
            account.info_at = 0.0  # back through a worker: what Flow says of it is read again
        self._touch(account)
        if reachable:
            self._on_ready()

    # --- the store --------------------------------------------------------------------------

    def take_changes(self) -> list[AccountRecord]:
        """Records of the accounts changed since the last call (for the store)."""
        changed = [self._accounts[i] for i in self._dirty if i in self._accounts]
        self._dirty.clear()
        return [record_of(a) for a in changed]

    def mark_changed(self, account_ids: Iterable[str]) -> None:
        """Accounts whose records could not be written: they are taken with the next changes."""
        self._dirty.update(i for i in account_ids if i in self._accounts)

    def restore(self, records: Mapping[str, AccountRecord]) -> int:
        """Put saved runtime state back on the accounts the table has; returns how many."""
        restored = 0
        for account in self._accounts.values():
            record = records.get(account.id)
            if record is not None:
                apply_record(account, record)
                self.index.update(account, self._clock())
                restored += 1
        return restored

    def absorb(self, records: Iterable[AccountRecord]) -> int:
        """What other replicas saw of accounts (their records, just written): the shared part is
        applied where it is newer; not marked for the store again (it is there). Returns how many
        accounts changed."""
        changed = 0
        for record in records:
            account = self._accounts.get(record.account_id)
            if account is not None and with_shared(account, record):
                self.index.update(account, self._clock())
                changed += 1
        if changed:
            self._on_ready()
        return changed

    # --- views ------------------------------------------------------------------------------

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

    def _reindex(self, account: Account, capability: Capability | None = None) -> None:
        if self._accounts.get(account.id) is not account:  # a removed account is not indexed again
            return
        if capability is None:
            self.index.update(account, self._clock())
        else:
            self.index.moved(account, capability, self._clock())
