"""Account management: the book (definitions in the store) and the registry (the pool kept equal to it)."""

from __future__ import annotations

import pytest

from gateway.config import AccountSettings, WorkerSettings
from gateway.domain import AccountKind, Capability, Tier
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.pool.account import account_id_for, worker_account_id
from gateway.pool.policy import AccountState, Health
from gateway.pool.pool import AccountPool
from gateway.service.account_book import AccountBook, AccountInput
from gateway.service.account_registry import ADMIN_DISABLED, AccountRegistry, RegistryHooks
from gateway.store.memory import MemoryStore
from gateway.upstream.flow.workers import AnnouncedAccount


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Hooks:
    def __init__(self) -> None:
        self.forgotten: list[str] = []
        self.verifications = 0

    def forget(self, account_id: str) -> None:
        self.forgotten.append(account_id)

    def verify(self) -> None:
        self.verifications += 1


REST = AccountInput(kind=AccountKind.REST, session_token="st-first-account-token", label="first")


def registry_with(store: MemoryStore, clock: FakeClock, hooks: Hooks, **workers: object) -> AccountRegistry:
    return AccountRegistry(
        store=store,
        pool=AccountPool(clock=clock),
        workers=WorkerSettings(**workers),  # type: ignore[arg-type]
        hooks=RegistryHooks(forget_credentials=hooks.forget, verify_soon=hooks.verify),
        clock=clock,
    )


def pool_of(registry: AccountRegistry) -> AccountPool:
    return registry.pool


# --- the book ------------------------------------------------------------------------------------


async def test_book_create_derives_the_id_and_refuses_duplicates() -> None:
    book = AccountBook(MemoryStore())
    created = await book.create(REST)
    assert created.id == account_id_for("st-first-account-token")
    assert created.secret.reveal() == "st-first-account-token"
    with pytest.raises(InvalidRequestError) as info:
        await book.create(REST)
    assert info.value.code == "account_exists"
    worker = await book.create(AccountInput(kind=AccountKind.WORKER, worker_key="k1"))
    assert worker.id == worker_account_id("k1") and worker.secret.reveal() == ""


@pytest.mark.parametrize(
    ("wanted", "param"),
    [
        (AccountInput(kind=AccountKind.REST), "session_token"),
        (AccountInput(kind=AccountKind.WORKER), "worker_key"),
        (AccountInput(session_token="st-x", weight=0), "weight"),
        (AccountInput(session_token="st-x", rpm=-1), "rpm"),
        (AccountInput(session_token="st-x", image_concurrency=5000), "image_concurrency"),
        (AccountInput(session_token="st-x", tier="gold"), "tier"),
    ],
)
async def test_book_names_the_bad_field(wanted: AccountInput, param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await AccountBook(MemoryStore()).create(wanted)
    assert info.value.param == param


async def test_book_change_keeps_id_and_kind() -> None:
    clock = FakeClock()
    book = AccountBook(MemoryStore(), clock=clock)
    created = await book.create(REST)
    clock.now += 10
    changed = await book.change(
        created.id, AccountInput(session_token="st-new-token", groups=("Ultra", "ultra"))
    )
    assert (changed.id, changed.secret.reveal(), changed.groups) == (created.id, "st-new-token", ("ultra",))
    assert changed.updated_at == created.updated_at + 10
    with pytest.raises(InvalidRequestError):
        await book.change(created.id, AccountInput(kind=AccountKind.WORKER))
    with pytest.raises(NotFoundError):
        await book.change("acc_nope", AccountInput(label="x"))


async def test_book_import_is_idempotent() -> None:
    book = AccountBook(MemoryStore())
    wanted = [AccountInput(session_token=f"st-{i}") for i in range(3)]
    first = await book.import_many(wanted)
    again = await book.import_many([*wanted, AccountInput(session_token="st-new")])
    assert (len(first.added), len(first.skipped)) == (3, 0)
    assert (len(again.added), len(again.skipped)) == (1, 3)
    assert len(await book.definitions()) == 4


async def test_config_accounts_are_owned_by_the_file() -> None:
    store = MemoryStore()
    book = AccountBook(store)
    entries = [AccountSettings(session_token="st-a", label="a"), AccountSettings(session_token="st-b")]
    declared = await book.sync_config(entries)
    with pytest.raises(InvalidRequestError, match="config file"):
        await book.delete(declared[0].id)
    revision = await store.definitions_revision()
    await book.sync_config(entries)
    assert await store.definitions_revision() == revision  # nothing changed: nothing written
    await book.sync_config(entries[1:])  # "a" left the file: it leaves the store
    assert [d.id for d in await book.definitions()] == [declared[1].id]


# --- the registry --------------------------------------------------------------------------------


async def test_an_added_account_is_verified_before_it_serves() -> None:
    clock, hooks, store = FakeClock(), Hooks(), MemoryStore()
    registry = registry_with(store, clock, hooks)
    await registry.load([])
    view = await registry.add(REST)
    assert view.state == "refreshing" and hooks.verifications == 1
    pool = pool_of(registry)
    pool.table.update_info(view.id, tier=Tier.PRO, credits=50)  # what a successful verification does
    assert pool.table.view(view.id).state == "active"  # type: ignore[union-attr]


async def test_disable_enable_and_new_credentials() -> None:
    clock, hooks, store = FakeClock(), Hooks(), MemoryStore()
    registry = registry_with(store, clock, hooks)
    await registry.load([AccountSettings(session_token="st-config-account", label="cfg")])
    account_id = account_id_for("st-config-account")
    assert (await registry.set_enabled(account_id, enabled=False)).state == "disabled"
    assert pool_of(registry).table.view(account_id).reason == ADMIN_DISABLED  # type: ignore[union-attr]
    clock.now += 1
    assert (await registry.set_enabled(account_id, enabled=True)).state == "refreshing"
    pool_of(registry).table.update_info(account_id, tier=Tier.ULTRA, credits=10)
    clock.now += 1
    view = await registry.change(account_id, AccountInput(session_token="st-rotated-cookie"))
    assert view.state == "refreshing" and hooks.forgotten == [account_id]


async def test_enable_re_examines_a_relogin_verdict() -> None:
    clock, hooks, store = FakeClock(), Hooks(), MemoryStore()
    registry = registry_with(store, clock, hooks)
    await registry.load([AccountSettings(session_token="st-config-account")])
    account_id = account_id_for("st-config-account")
    pool_of(registry).table.set_health(
        account_id, Health(AccountState.NEEDS_RELOGIN, "session rejected", since=clock.now)
    )
    clock.now += 5
    assert (await registry.set_enabled(account_id, enabled=True)).state == "refreshing"


async def test_changes_made_elsewhere_arrive_through_sync() -> None:
    clock, hooks, store = FakeClock(), Hooks(), MemoryStore()
    registry = registry_with(store, clock, hooks)
    await registry.load([])
    assert await registry.sync() is False
    cli = AccountBook(store, clock=clock)  # another process (the CLI) writing the same store
    created = await cli.create(AccountInput(session_token="st-from-the-cli", rpm=3, daily_videos=4))
    assert await registry.sync() is True
    account = pool_of(registry).table.get(created.id)
    assert account is not None and account.rpm == 3 and account.daily == {Capability.VIDEO: 4}
    await cli.change(created.id, AccountInput(enabled=False))
    await registry.sync()
    assert pool_of(registry).table.view(created.id).state == "disabled"  # type: ignore[union-attr]
    await cli.delete(created.id)
    await registry.sync()
    assert pool_of(registry).table.get(created.id) is None


async def test_restart_keeps_states_but_applies_newer_definitions() -> None:
    clock, hooks, store = FakeClock(), Hooks(), MemoryStore()
    first = registry_with(store, clock, hooks)
    await first.load([])
    kept = await first.add(AccountInput(session_token="st-keeps-its-cooldown"))
    fixed = await first.add(AccountInput(session_token="st-gets-a-new-cookie"))
    pool = pool_of(first)
    pool.table.set_health(
        kept.id,
        Health(AccountState.COOLING_DOWN, "rate limited", since=clock.now, cooldown_until=clock.now + 60),
    )
    pool.table.set_health(fixed.id, Health(AccountState.NEEDS_RELOGIN, "session rejected", since=clock.now))
    await store.put_accounts(pool.table.take_changes())
    clock.now += 10
    await AccountBook(store, clock=clock).change(fixed.id, AccountInput(session_token="st-fresh-cookie"))
    second = registry_with(store, clock, hooks)
    await second.load([])
    assert pool_of(second).table.view(kept.id).state == "cooling_down"  # type: ignore[union-attr]
    assert pool_of(second).table.view(fixed.id).state == "refreshing"  # type: ignore[union-attr]


async def test_workers_register_on_hello_and_wait_while_away() -> None:
    clock, hooks, store = FakeClock(), Hooks(), MemoryStore()
    registry = registry_with(store, clock, hooks, default_tier="pro", image_concurrency=3)
    await registry.load([])
    announced = AnnouncedAccount("w-key", "project-1", tier="ultra", groups=("browser",))
    await registry.announce(announced, reachable=True, reason="")
    account_id = worker_account_id("w-key")
    view = pool_of(registry).table.view(account_id)
    assert view is not None and (view.state, view.tier, view.groups) == ("active", "ultra", ("browser",))
    assert view.limits["image"] == 3 and registry.tier_of("w-key") is Tier.ULTRA
    assert [d.source for d in await registry.book.definitions()] == ["worker"]
    await registry.announce(announced, reachable=False, reason="its browser worker disconnected")
    assert pool_of(registry).table.view(account_id).state == "needs_worker"  # type: ignore[union-attr]
    restarted = registry_with(store, clock, hooks)
    await restarted.load([])
    assert pool_of(restarted).table.view(account_id).state == "needs_worker"  # type: ignore[union-attr]


async def test_unknown_workers_are_ignored_without_auto_register() -> None:
    registry = registry_with(MemoryStore(), FakeClock(), Hooks(), auto_register=False)
    await registry.load([])
    await registry.announce(AnnouncedAccount("stranger", "p"), reachable=True, reason="")
    assert pool_of(registry).table.snapshot() == []


async def test_a_sync_leaves_a_connected_worker_account_alone() -> None:
    clock, hooks, store = FakeClock(), Hooks(), MemoryStore()
    registry = registry_with(store, clock, hooks)
    await registry.load([])
    await registry.announce(AnnouncedAccount("w-key", "p"), reachable=True, reason="")
    account_id = worker_account_id("w-key")
    pool_of(registry).table.set_health(account_id, Health(consecutive_failures=3, since=clock.now))
    await AccountBook(store, clock=clock).create(AccountInput(session_token="st-someone-else"))
    assert await registry.sync() is True
    account = pool_of(registry).table.get(account_id)
    assert account is not None and account.health.consecutive_failures == 3  # not reset by the sync
