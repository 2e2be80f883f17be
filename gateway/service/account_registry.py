"""The pool's accounts, kept equal to the definitions in the store.

Every change is written through the :class:`AccountBook` first, then reflected here in this
process's pool; changes made elsewhere (the CLI, later another replica) arrive through the
store's revision, which :meth:`AccountRegistry.sync` polls. Reflecting a definition never resets
what the pool learned (health, usage, tier), except where the definition says so: disabled by an
administrator, new credentials (the account is re-verified: ``refreshing``), or re-enabled after a
verdict (``needs_relogin``, ``disabled``) that a newer definition may have fixed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from gateway.config import AccountSettings, WorkerSettings
from gateway.domain import AccountDefinition, AccountKind, Capability, Secret, Tier
from gateway.errors import InvalidRequestError
from gateway.pool.account import Account, worker_account_id
from gateway.pool.policy import AccountState, Health
from gateway.pool.pool import AccountPool
from gateway.pool.profile import Profile, apply_profile
from gateway.pool.records import AccountView
from gateway.service.account_book import AccountBook, AccountInput, ImportResult
from gateway.service.audit import AuditTrail
from gateway.store.base import ACCOUNTS_TOPIC, Store
from gateway.upstream.flow.rest import REST_OFFERS
from gateway.upstream.flow.workers import AnnouncedAccount

log = structlog.get_logger("gateway.service.accounts")
TIER_NAMES = {"free": Tier.FREE, "pro": Tier.PRO, "ultra": Tier.ULTRA, **{t.value: t for t in Tier}}
ADMIN_DISABLED = "disabled by an administrator"
FIXABLE = frozenset({AccountState.NEEDS_RELOGIN, AccountState.DISABLED, AccountState.OUT_OF_CREDITS})


@dataclass(frozen=True, slots=True)
class RegistryHooks:
    """What the registry needs from the rest of the gateway (wired by the composition root)."""

    forget_credentials: Callable[[str], None] = lambda _account_id: None
    verify_soon: Callable[[], None] = lambda: None
    audit: AuditTrail | None = None  # where the book records changes (None: not recorded)


class AccountRegistry:
    """Account management for a running gateway: the book, reflected in the pool."""

    def __init__(
        self,
        *,
        store: Store,
        pool: AccountPool,
        workers: WorkerSettings,
        hooks: RegistryHooks | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._hooks = hooks or RegistryHooks()
        self._book = AccountBook(store, clock=clock, audit=self._hooks.audit)  # every change is audited there
        self._pool = pool
        self._workers = workers
        self._clock = clock
        self._revision = -1
        self._lock = asyncio.Lock()
        self._connected: set[str] = set()  # worker keys a connected worker serves

    @property
    def pool(self) -> AccountPool:
        """The pool kept equal to the book."""
        return self._pool

    @property
    def book(self) -> AccountBook:
        """The definitions behind the pool."""
        return self._book

    async def load(self, config_accounts: Sequence[AccountSettings]) -> int:
        """At start: write the config file's accounts, fill the pool, put saved states back."""
        await self._book.sync_config(config_accounts)
        self._revision = await self._store.definitions_revision()
        definitions = await self._book.definitions()
        for definition in definitions:
            self._reflect(definition, Health(since=self._clock()))
        self._pool.table.restore(await self._store.get_accounts())
        self._heal_old_verdicts()
        for definition in definitions:
            self._reconsider(definition)
        log.info("accounts_loaded", accounts=len(definitions))
        return len(definitions)

    def _heal_old_verdicts(self) -> None:
        """Earlier versions disabled an account after a few transient failures, and kept it so. Only
        an administrator disables now: such a saved verdict is lifted at start."""
        for account in self._pool.table.accounts:
            health = account.health
            if health.state is AccountState.DISABLED and health.reason != ADMIN_DISABLED:
                self._pool.table.set_health(account.id, Health(since=self._clock()))

    async def sync(self) -> bool:
        """Reflect changes made through the store by someone else; True when there were any."""
        revision = await self._store.definitions_revision()
        if revision == self._revision:
            return False
        async with self._lock:
            self._revision = revision
            definitions = await self._book.definitions()
            known = {d.id for d in definitions}
            for definition in definitions:
                self._reflect(definition, Health(AccountState.REFRESHING, "new account", since=self._clock()))
                self._reconsider(definition)
            for account in self._pool.table.accounts:
                if account.id not in known:
                    self._pool.table.remove(account.id)
        await self._pool.changed()
        return True

    async def run(self, interval: float) -> None:
        """Poll for changes every ``interval`` seconds, and at once when the store hears of one made
        by another replica (Redis), until cancelled."""
        while True:
            await self._store.wait_for_change(ACCOUNTS_TOPIC, interval)
            try:
                await self.sync()
            except (OSError, ValueError) as exc:  # the store is down: try again next time
                log.warning("accounts_sync_failed", error=type(exc).__name__)

    # --- management -------------------------------------------------------------------------

    async def add(self, wanted: AccountInput) -> AccountView:
        """Add an account; a REST account is verified with Flow before it serves."""
        definition = await self._book.create(wanted)
        return await self._after_write(definition)

    async def change(self, account_id: str, wanted: AccountInput) -> AccountView:
        """Change an account's definition."""
        definition = await self._book.change(account_id, wanted)
        return await self._after_write(definition)

    async def set_enabled(self, account_id: str, *, enabled: bool) -> AccountView:
        """Disable, or enable again (a verdict such as ``needs_relogin`` is re-examined)."""
        return await self.change(account_id, AccountInput(enabled=enabled))

    async def remove(self, account_id: str) -> AccountDefinition:
        """Delete an account: it leaves the pool (leases held finish) and the store."""
        definition = await self._book.delete(account_id)
        self._pool.table.remove(account_id)
        self._hooks.forget_credentials(account_id)
        return definition

    async def import_many(self, wanted: Sequence[AccountInput]) -> ImportResult:
        """Add many accounts at once; those already known are skipped."""
        result = await self._book.import_many(wanted)
        await self.sync()
        return result

    def view(self, account_id: str) -> AccountView:
        """The pool's view of an account that the book knows."""
        view = self._pool.table.view(account_id)
        if view is None:
            raise InvalidRequestError(f"account {account_id} is not in the pool yet; retry", param="id")
        return view

    # --- browser workers --------------------------------------------------------------------

    async def announce(self, account: AnnouncedAccount, *, reachable: bool, reason: str) -> None:
        """A worker's hello or ``account_state``: register the account if new, then (un)reach it."""
        account_id = worker_account_id(account.key)
        if reachable:
            self._connected.add(account.key)
        else:
            self._connected.discard(account.key)
        if self._pool.table.get(account_id) is None:
            if not self._workers.auto_register:
                log.warning("worker_account_unknown", account=account_id)
                return
            await self._register_worker(account)
        self._pool.table.declare_tier(account_id, TIER_NAMES.get(account.tier, self.default_tier))
        self._pool.table.set_reachable(account_id, reachable=reachable, reason=reason)
        if reachable:
            self._hooks.verify_soon()  # read its credits, tier and catalogue through the worker now

    def tier_of(self, worker_key: str) -> Tier:
        """The tier of a worker account (declared, announced, or the configured default)."""
        account = self._pool.table.get(worker_account_id(worker_key))
        return account.declared_tier if account and account.declared_tier else self.default_tier

    @property
    def default_tier(self) -> Tier:
        """The tier of worker accounts that declare none."""
        return TIER_NAMES[self._workers.default_tier]

    async def _register_worker(self, account: AnnouncedAccount) -> None:
        wanted = AccountInput(
            kind=AccountKind.WORKER,
            worker_key=account.key,
            label=account.key,
            groups=account.groups,
            tier=account.tier if account.tier in ("free", "pro", "ultra") else None,
            image_concurrency=self._workers.image_concurrency,
            video_concurrency=self._workers.video_concurrency,
        )
        try:
            definition = await self._book.create(wanted, source="worker")
        except InvalidRequestError:  # another hello registered it meanwhile
            definition = await self._book.get(worker_account_id(account.key))
        self._reflect(definition, Health(since=self._clock()))

    # --- reflecting definitions in the pool -------------------------------------------------

    async def _after_write(self, definition: AccountDefinition) -> AccountView:
        async with self._lock:
            self._reflect(definition, Health(AccountState.REFRESHING, "new account", since=self._clock()))
            self._reconsider(definition)
        await self._pool.changed()
        return self.view(definition.id)

    def _reflect(self, definition: AccountDefinition, health: Health) -> None:
        """Make the pool's account match ``definition`` (``health`` is for an account new to the pool)."""
        table = self._pool.table
        if table.get(definition.id) is None:
            account = Account(id=definition.id, label=definition.label, session_token=definition.secret)
            apply_profile(account, profile_of(definition))  # not in the table yet: set up here
            account.health = self._first_health(definition, health)
            table.add(account)
            if account.health.state is AccountState.REFRESHING:
                self._hooks.verify_soon()
            return
        if table.define(definition.id, profile_of(definition)):  # new credentials
            self._hooks.forget_credentials(definition.id)
            self._refreshing(definition.id, "credentials changed")

    def _first_health(self, definition: AccountDefinition, health: Health) -> Health:
        now = self._clock()
        if not definition.enabled:
            return Health(AccountState.DISABLED, ADMIN_DISABLED, since=now)
        if definition.kind is AccountKind.WORKER:
            return self._worker_health(definition, now)
        return health

    def _worker_health(self, definition: AccountDefinition, now: float) -> Health:
        if definition.worker_key in self._connected:
            return Health(since=now)
        return Health(AccountState.NEEDS_WORKER, "its browser worker is not connected", since=now)

    def _reconsider(self, definition: AccountDefinition) -> None:
        """Apply what the definition says about state: disabled, or a verdict a newer change may fix."""
        account = self._pool.table.get(definition.id)
        if account is None:
            return
        health, now = account.health, self._clock()
        admin_disabled = health.state is AccountState.DISABLED and health.reason == ADMIN_DISABLED
        if not definition.enabled:
            if not admin_disabled:
                disabled = Health(AccountState.DISABLED, ADMIN_DISABLED, since=now)
                self._pool.table.set_health(account.id, disabled)
            return
        fixable = admin_disabled or (health.state in FIXABLE and definition.updated_at > health.since)
        if definition.kind is AccountKind.WORKER:
            wanted = self._worker_health(definition, now)
            # Only a change of reachability moves a worker account: an active one keeps its strikes.
            moved = (
                health.state in {AccountState.ACTIVE, AccountState.NEEDS_WORKER}
                and wanted.state is not health.state
            )
            if fixable or moved:
                self._pool.table.set_health(account.id, wanted)
        elif fixable:
            self._refreshing(account.id, "re-enabled")

    def _refreshing(self, account_id: str, reason: str) -> None:
        self._pool.table.set_health(account_id, Health(AccountState.REFRESHING, reason, since=self._clock()))
        self._hooks.verify_soon()


def profile_of(definition: AccountDefinition) -> Profile:
    """What a definition sets on its account in the pool."""
    return Profile(
        label=definition.label,
        kind=definition.kind,
        session_token=definition.secret if definition.kind is AccountKind.REST else Secret(""),
        worker_key=definition.worker_key,
        groups=frozenset(definition.groups),
        weight=definition.weight,
        proxy=definition.proxy or None,
        limits={
            Capability.IMAGE: definition.image_concurrency,
            Capability.VIDEO: definition.video_concurrency,
        },
        rpm=definition.rpm,
        daily={Capability.IMAGE: definition.daily_images, Capability.VIDEO: definition.daily_videos},
        declared_tier=TIER_NAMES.get(definition.tier) if definition.tier else None,
        # The REST hosts have no catalogue to read: a fixed one. A worker's catalogue is read.
        offers=REST_OFFERS if definition.kind is AccountKind.REST else None,
        source=definition.source,
        enabled=definition.enabled,
        created_at=definition.created_at,
        updated_at=definition.updated_at,
    )
