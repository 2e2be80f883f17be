import asyncio

import pytest

from gateway.domain import Capability, Secret, Tier
from gateway.errors import NoCapacityError, PermissionDeniedError, ServiceUnavailableError
from gateway.pool.account import Account, account_id_for
from gateway.pool.policy import Outcome
from gateway.pool.pool import AccountPool, LeaseRequest
from gateway.service import refusals


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def account(
    name: str, *, tier: Tier | None = Tier.ULTRA, groups: tuple[str, ...] = (), image: int = 2
) -> Account:
    return Account(
        id=name,
        label=name,
        session_token=Secret(f"st-{name}"),
        tier=tier,
        groups=frozenset(groups),
        limits={Capability.IMAGE: image, Capability.VIDEO: 1},
    )


IMAGE = LeaseRequest(Capability.IMAGE)


async def test_lease_holds_and_frees_a_slot() -> None:
    pool = AccountPool([account("a")])
    async with pool.lease(IMAGE) as lease:
        assert lease.account.inflight[Capability.IMAGE] == 1
        assert pool.table.snapshot()[0].inflight["image"] == 1
    assert pool.table.snapshot()[0].inflight["image"] == 0


async def test_slot_freed_on_error() -> None:
    pool = AccountPool([account("a")])
    with pytest.raises(RuntimeError):
        async with pool.lease(IMAGE):
            raise RuntimeError("boom")
    assert pool.table.snapshot()[0].inflight["image"] == 0


async def test_least_loaded_first() -> None:
    pool = AccountPool([account("a"), account("b")])
    async with pool.lease(IMAGE) as first, pool.lease(IMAGE) as second:
        assert {first.account.id, second.account.id} == {"a", "b"}


async def test_limit_is_never_exceeded_under_a_burst() -> None:
    pool = AccountPool([account("a", image=2), account("b", image=1)], wait_timeout=5)
    peak = {"a": 0, "b": 0}

    async def work() -> None:
        async with pool.lease(IMAGE) as lease:
            peak[lease.account.id] = max(peak[lease.account.id], lease.account.inflight[Capability.IMAGE])
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work() for _ in range(30)))
    assert peak == {"a": 2, "b": 1}


async def test_waiter_gets_a_freed_slot() -> None:
    pool = AccountPool([account("a", image=1)], wait_timeout=5)
    order: list[str] = []

    async def holder() -> None:
        async with pool.lease(IMAGE):
            order.append("held")
            await asyncio.sleep(0.05)
        order.append("released")

    async def waiter() -> None:
        await asyncio.sleep(0.01)
        async with pool.lease(IMAGE):
            order.append("waiter")

    await asyncio.gather(holder(), waiter())
    assert order == ["held", "released", "waiter"]


async def test_wait_is_bounded_with_retry_after() -> None:
    pool = AccountPool([account("a", image=1)], wait_timeout=0.05)
    async with pool.lease(IMAGE):
        with pytest.raises(NoCapacityError) as info:
            async with refusals.lease(pool, IMAGE):
                pass
    assert info.value.status == 429
    assert float(info.value.headers()["retry-after"]) >= 1


async def test_cooldown_then_used_again() -> None:
    clock = FakeClock()
    pool = AccountPool([account("a")], clock=clock, wait_timeout=0)
    async with pool.lease(IMAGE) as lease:
        lease.report(Outcome.RATE_LIMITED, retry_after=30)
    assert pool.table.snapshot()[0].state == "cooling_down"
    with pytest.raises(NoCapacityError) as info:
        async with refusals.lease(pool, IMAGE):
            pass
    assert info.value.retry_after == pytest.approx(30)
    clock.advance(30)
    async with pool.lease(IMAGE) as lease:
        assert lease.account.id == "a"
    assert pool.table.snapshot()[0].state == "active"


async def test_group_filter_and_unknown_group_error() -> None:
    pool = AccountPool([account("a", groups=("pro",)), account("b", groups=("ultra",))])
    async with pool.lease(LeaseRequest(Capability.IMAGE, groups=frozenset({"ultra"}))) as lease:
        assert lease.account.id == "b"
    with pytest.raises(PermissionDeniedError, match="vip"):
        async with refusals.lease(pool, LeaseRequest(Capability.IMAGE, groups=frozenset({"vip"}))):
            pass


async def test_tier_filter() -> None:
    pool = AccountPool([account("free", tier=Tier.FREE), account("unknown", tier=None)])
    async with pool.lease(LeaseRequest(Capability.IMAGE, tier=Tier.ULTRA)) as lease:
        assert lease.account.id == "unknown"
    pool.table.update_info("unknown", tier=Tier.PRO, credits=10)
    with pytest.raises(PermissionDeniedError, match="ultra"):
        async with refusals.lease(pool, LeaseRequest(Capability.IMAGE, tier=Tier.ULTRA)):
            pass


async def test_excluded_accounts_are_skipped() -> None:
    pool = AccountPool([account("a"), account("b")])
    async with pool.lease(LeaseRequest(Capability.IMAGE, exclude=frozenset({"a"}))) as lease:
        assert lease.account.id == "b"
    with pytest.raises(ServiceUnavailableError):
        async with refusals.lease(pool, LeaseRequest(Capability.IMAGE, exclude=frozenset({"a", "b"}))):
            pass


async def test_credits_back_lift_out_of_credits() -> None:
    pool = AccountPool([account("a")], wait_timeout=0)
    async with pool.lease(IMAGE) as lease:
        lease.report(Outcome.QUOTA_EXHAUSTED)
    assert pool.table.snapshot()[0].state == "out_of_credits"
    pool.table.update_info("a", tier=Tier.ULTRA, credits=100)
    assert pool.table.snapshot()[0].state == "active"


def test_account_id_is_stable_and_hides_the_token() -> None:
    assert account_id_for("secret-token") == account_id_for("secret-token")
    assert "secret" not in account_id_for("secret-token")
    assert "st-a" not in repr(account("a"))


async def test_the_wait_queue_is_bounded_and_counted() -> None:
    pool = AccountPool([account("a", image=1)], wait_timeout=5, max_waiters=1)
    async with pool.lease(IMAGE):
        waiter = asyncio.ensure_future(_lease_once(pool))
        await asyncio.sleep(0.01)
        assert pool.waiting == 1
        with pytest.raises(NoCapacityError):  # the queue is full: refused at once, not after 5 s
            async with refusals.lease(pool, IMAGE):
                pass
    await waiter
    assert (pool.waiting, pool.waits) == (0, 1)
    assert pool.wait_seconds > 0


async def _lease_once(pool: AccountPool) -> None:
    async with pool.lease(IMAGE):
        pass


async def test_waiters_are_served_in_arrival_order() -> None:
    pool = AccountPool([account("a", image=1)], wait_timeout=5)
    order: list[int] = []

    async def waiter(i: int) -> None:
        async with pool.lease(IMAGE):
            order.append(i)
            await asyncio.sleep(0.005)

    async with pool.lease(IMAGE):
        tasks = []
        for i in range(5):
            tasks.append(asyncio.ensure_future(waiter(i)))
            await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_changes_are_exported_and_restored() -> None:
    clock = FakeClock()
    pool = AccountPool([account("a"), account("b")], clock=clock, wait_timeout=0)
    async with pool.lease(IMAGE) as lease:
        lease.report(Outcome.RATE_LIMITED, retry_after=60)
        cooled = lease.account.id
    records = pool.table.take_changes()
    assert [(r.account_id, r.state, r.cooldown_until) for r in records] == [
        (cooled, "cooling_down", clock.now + 60)
    ]
    assert pool.table.take_changes() == []
    fresh = AccountPool([account("a"), account("b")], clock=clock, wait_timeout=0)
    assert fresh.table.restore({r.account_id: r for r in records}) == 1
    other = "b" if cooled == "a" else "a"
    for _ in range(3):
        async with fresh.lease(IMAGE) as lease:
            assert lease.account.id == other  # the restored cooldown holds


async def test_usage_counts_successes_failures_and_credits() -> None:
    clock = FakeClock()
    pool = AccountPool([account("a")], clock=clock)
    pool.table.update_info("a", tier=Tier.ULTRA, credits=100)
    async with pool.lease(LeaseRequest(Capability.VIDEO)) as lease:
        lease.report(Outcome.SUCCESS, credits=20)
        pool.table.spend(lease.account.id, 20)
    async with pool.lease(IMAGE) as lease:
        lease.report(Outcome.TRANSIENT, error="UpstreamUnavailableError")
    clock.advance(5)  # a transient strike rests the account for a few seconds
    async with pool.lease(IMAGE) as lease:
        lease.report(Outcome.CAPTCHA, error="UpstreamCaptchaError")
    (view,) = pool.table.snapshot()
    assert view.credits == 80  # spent credits are taken off until Flow says otherwise
    usage = view.usage
    assert (usage["videos_today"], usage["credits_today"], usage["failures_today"]) == (1, 20, 2)
    assert (usage["captcha_refusals"], usage["last_error"]) == (1, "UpstreamCaptchaError")
    assert view.state == "active"  # strikes and refusals are not verdicts
    assert dict(pool.picks) == {"video": 1, "image": 2}


async def test_forbidden_is_learned_per_feature_and_refused_at_once_when_nobody_may() -> None:
    clock = FakeClock()
    pool = AccountPool([account("a"), account("b")], clock=clock)
    relaxed = LeaseRequest(Capability.VIDEO, feature="veo_3_1-relaxed")
    for _ in range(2):
        async with pool.lease(relaxed) as lease:
            lease.report(Outcome.FORBIDDEN, error="UpstreamForbiddenError")
    assert all("veo_3_1-relaxed" in v.refused for v in pool.table.snapshot())
    with pytest.raises(PermissionDeniedError, match="veo_3_1-relaxed"):
        async with refusals.lease(pool, relaxed):
            pass
    async with pool.lease(LeaseRequest(Capability.VIDEO, feature="veo_3_1")) as lease:
        assert lease.account.health.state.value == "active"  # no penalty beyond the feature
    clock.advance(6 * 3600)
    async with pool.lease(relaxed):
        pass  # the refusal is believed for refusal_ttl only


async def test_an_account_removed_while_leased_is_not_indexed_again() -> None:
    pool = AccountPool([account("a"), account("b")])
    async with pool.lease(IMAGE) as lease:
        removed = lease.account.id
        assert pool.table.remove(removed)
    for _ in range(3):
        async with pool.lease(IMAGE) as lease:
            assert lease.account.id != removed
    assert [v.id for v in pool.table.snapshot()] != [removed]
    assert pool.table.take_changes() == [] or all(r.account_id != removed for r in pool.table.take_changes())


async def test_restore_brings_back_usage_and_refusals() -> None:
    clock = FakeClock()
    pool = AccountPool([account("a")], clock=clock)
    async with pool.lease(LeaseRequest(Capability.IMAGE, feature="nano_banana_pro-4K")) as lease:
        lease.report(Outcome.FORBIDDEN, error="UpstreamForbiddenError")
    async with pool.lease(IMAGE) as lease:
        lease.report(Outcome.SUCCESS)
    records = {r.account_id: r for r in pool.table.take_changes()}
    fresh = AccountPool([account("a")], clock=clock)
    fresh.table.restore(records)
    (view,) = fresh.table.snapshot()
    assert view.usage["images_total"] == 1 and view.usage["failures_total"] == 1
    assert "nano_banana_pro-4K" in view.refused
