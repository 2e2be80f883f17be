"""Account slots, rates, daily caps and health shared by two replicas on one Redis (a real
redis-server): two stores and two pools on one prefix, as two gateway processes would have."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.domain import Capability, Secret, Tier
from gateway.errors import StoreUnavailableError
from gateway.pool.account import Account, next_midnight
from gateway.pool.policy import AccountState, Outcome
from gateway.pool.pool import AccountPool, LeaseRequest, NoEligibleAccountError
from gateway.pool.refusal import Ineligible
from gateway.pool.table import AccountTable
from gateway.service.account_state import AccountStateKeeper
from gateway.store.redis_slots import RedisSlots
from gateway.store.redis_store import RedisStore
from tests.support.redis_server import RedisServer, start_server, unique_prefix

IMAGE = LeaseRequest(Capability.IMAGE)


def account(*, image: int = 2, rpm: int = 0, daily: int = 0) -> Account:
    return Account(
        id="a",
        label="a",
        session_token=Secret("st-a"),
        tier=Tier.ULTRA,
        limits={Capability.IMAGE: image, Capability.VIDEO: 1},
        rpm=rpm,
        daily={Capability.IMAGE: daily} if daily else {},
    )


@dataclass
class Replica:
    """One gateway replica's share of the state: its store, ledger, pool and account."""

    store: RedisStore
    ledger: RedisSlots
    pool: AccountPool
    account: Account
    loops: list[asyncio.Task[None]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def replica(
    url: str,
    prefix: str,
    made: Callable[[], Account],
    *,
    wait_timeout: float = 20.0,
    ttl: float = 30.0,
    mirror_ttl: float = 1.0,
) -> AsyncIterator[Replica]:
    store = RedisStore(url, prefix=prefix)
    await store.open()
    ledger = store.slot_ledger(ttl=ttl)
    mine = made()
    table = AccountTable([mine], mirror_ttl=mirror_ttl)
    pool = AccountPool(table, wait_timeout=wait_timeout, ledger=ledger)
    one = Replica(store, ledger, pool, mine, [asyncio.create_task(ledger.run())])
    try:
        await ledger.subscribed()
        yield one
    finally:
        for task in one.loops:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.close()


@contextlib.asynccontextmanager
async def two(
    server: RedisServer, made: Callable[[], Account], **knobs: float
) -> AsyncIterator[tuple[Replica, Replica]]:
    prefix = unique_prefix()
    async with (
        replica(server.url, prefix, made, **knobs) as a,
        replica(server.url, prefix, made, **knobs) as b,
    ):
        yield a, b


async def until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll a condition (not a sleep-then-assert): fails after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - state across processes' shares: no event to wait on
            await asyncio.sleep(0.005)


async def test_two_replicas_never_exceed_an_accounts_limit_under_a_burst(redis_server: RedisServer) -> None:
    async with two(redis_server, lambda: account(image=2)) as (a, b):
        running, peak, done = 0, 0, 0

        async def work(pool: AccountPool) -> None:
            nonlocal running, peak, done
            async with pool.lease(IMAGE):
                running += 1
                peak = max(peak, running)
                await asyncio.sleep(0.002)  # the generation: long enough for leases to overlap
                running -= 1
            done += 1

        await asyncio.gather(*(work(p) for _ in range(20) for p in (a.pool, b.pool)))
        assert (peak, done) == (2, 40)
        assert a.account.inflight[Capability.IMAGE] == b.account.inflight[Capability.IMAGE] == 0
        assert a.ledger.held == b.ledger.held == 0  # every lease freed in Redis too


async def test_a_waiter_on_one_replica_is_woken_when_another_frees_the_slot(
    redis_server: RedisServer,
) -> None:
    # The mirror is trusted for a minute here: only the "slot freed" message can wake the waiter.
    async with two(redis_server, lambda: account(image=1), mirror_ttl=60.0) as (a, b):
        held = a.pool.lease(IMAGE)
        await held.__aenter__()
        waiter = asyncio.ensure_future(b.pool.lease(IMAGE).__aenter__())
        await until(lambda: b.pool.waiting == 1)
        assert b.account.elsewhere[Capability.IMAGE] == 1  # the refusal taught B's mirror
        await held.__aexit__(None, None, None)
        async with asyncio.timeout(5):
            lease = await waiter
        assert lease.account.id == "a" and b.account.inflight[Capability.IMAGE] == 1


async def test_the_rate_per_minute_holds_across_replicas(redis_server: RedisServer) -> None:
    async with two(redis_server, lambda: account(image=5, rpm=3), wait_timeout=0) as (a, b):
        for _ in range(3):
            async with a.pool.lease(IMAGE):
                pass
        with pytest.raises(NoEligibleAccountError) as caught:
            async with b.pool.lease(IMAGE):
                pass
        assert caught.value.reason is Ineligible.BUSY
        assert 50 < caught.value.retry_after <= 61  # when the first of the three leaves the window
        assert b.account.inflight[Capability.IMAGE] == 0 and not b.account.recent  # undone


async def test_the_daily_cap_holds_across_replicas(redis_server: RedisServer) -> None:
    async with two(redis_server, lambda: account(image=5, daily=2), wait_timeout=0) as (a, b):
        for pool in (a.pool, b.pool):
            async with pool.lease(IMAGE) as lease:
                lease.report(Outcome.SUCCESS)
        assert a.account.usage.today(Capability.IMAGE, time.time()) == 1  # locally: room for one more
        with pytest.raises(NoEligibleAccountError) as caught:
            async with a.pool.lease(IMAGE):
                pass
        assert caught.value.reason is Ineligible.BUSY
        assert a.account.held_off[Capability.IMAGE] == pytest.approx(next_midnight(time.time()), abs=5)


async def test_a_dead_replicas_slot_frees_after_its_ttl(redis_server: RedisServer) -> None:
    prefix = unique_prefix()
    async with (
        replica(redis_server.url, prefix, lambda: account(image=1), ttl=0.4) as dead,
        replica(redis_server.url, prefix, lambda: account(image=1), wait_timeout=0) as b,
    ):
        dead.loops.pop().cancel()  # the replica "dies": its renewals stop, nothing is released
        claim = await dead.ledger.claim(dead.account, Capability.IMAGE)
        assert claim.granted
        with pytest.raises(NoEligibleAccountError):
            async with b.pool.lease(IMAGE):
                pass
        patient = AccountPool(b.pool.table, wait_timeout=20, ledger=b.ledger)
        async with asyncio.timeout(10), patient.lease(IMAGE) as lease:  # mirror expiry: it looks again
            assert lease.account.id == "a"


async def test_a_living_replica_keeps_its_slots_by_renewing_them(redis_server: RedisServer) -> None:
    prefix = unique_prefix()
    async with (
        replica(redis_server.url, prefix, lambda: account(image=1), ttl=0.3) as a,
        replica(redis_server.url, prefix, lambda: account(image=1), wait_timeout=0) as b,
        a.pool.lease(IMAGE),
    ):
        outlived = time.time() + 1.0  # over three TTLs
        await until(lambda: time.time() > outlived)
        with pytest.raises(NoEligibleAccountError):
            async with b.pool.lease(IMAGE):
                pass


async def test_a_cooldown_recorded_on_one_replica_is_honoured_by_the_other(redis_server: RedisServer) -> None:
    async with two(redis_server, lambda: account(image=2), wait_timeout=0) as (a, b):
        feed_b = b.store.health_feed()
        keeper_a = AccountStateKeeper(a.pool, a.store, feed=a.store.health_feed())
        keeper_b = AccountStateKeeper(b.pool, b.store, feed=feed_b)
        b.loops.append(asyncio.create_task(keeper_b.listen()))
        await feed_b.subscribed()
        async with a.pool.lease(IMAGE) as lease:
            lease.report(Outcome.RATE_LIMITED, retry_after=30)
        await keeper_a.flush()
        await until(lambda: b.account.health.state is AccountState.COOLING_DOWN)
        assert b.account.health.cooldown_until == a.account.health.cooldown_until
        with pytest.raises(NoEligibleAccountError) as caught:
            async with b.pool.lease(IMAGE):
                pass
        assert caught.value.retry_after == pytest.approx(30, abs=2)
        assert await keeper_b.flush() == 0  # what it was told is not written back


async def test_redis_going_away_refuses_leases_at_once_and_they_come_back(tmp_path: Path) -> None:
    server = start_server(tmp_path / "redis")  # its own, to stop and start again
    try:
        async with replica(server.url, unique_prefix(), lambda: account(image=2)) as a:
            async with a.pool.lease(IMAGE):  # a lease under way when Redis goes
                server.stop()
                started = time.monotonic()
                with pytest.raises(StoreUnavailableError) as caught:
                    async with a.pool.lease(IMAGE):
                        pass
                assert time.monotonic() - started < 3 and caught.value.status == 503
                assert a.account.inflight[Capability.IMAGE] == 1  # the refused one left nothing
                async with a.pool.hold("a", Capability.IMAGE) as held:  # work under way: never refused
                    assert held is not None
                server.start()  # empty: it kept nothing
                assert await a.ledger.renew() == 1  # the lease still held is counted again
                assert await a.ledger.count("a", Capability.IMAGE) == 1
            async with a.pool.lease(IMAGE), a.pool.lease(IMAGE):
                assert await a.ledger.count("a", Capability.IMAGE) == 2
    finally:
        server.stop()
