"""The selection index alone: order, weights, fairness, cooldowns, filters; a fake clock throughout."""

from __future__ import annotations

from collections import Counter

import pytest

from gateway.domain import Capability, Secret, Tier
from gateway.pool.account import Account
from gateway.pool.index import Reach, SelectionIndex, Want
from gateway.pool.policy import AccountState, Health

IMAGE = Want(Capability.IMAGE)


def make(
    name: str,
    *,
    tier: Tier | None = Tier.PRO,
    groups: tuple[str, ...] = (),
    limit: int = 4,
    weight: float = 1.0,
    credits: int | None = None,
) -> Account:
    return Account(
        id=name,
        label=name,
        session_token=Secret(""),
        tier=tier,
        groups=frozenset(groups),
        weight=weight,
        credits=credits,
        limits={Capability.IMAGE: limit, Capability.VIDEO: 1},
    )


def lease(index: SelectionIndex, want: Want = IMAGE, now: float = 0.0) -> Account | None:
    account = index.pick(want, now)
    if account is not None:
        account.inflight[want.capability] += 1
        index.picked(account, now)
    return account


def release(index: SelectionIndex, account: Account, now: float = 0.0) -> None:
    account.inflight[Capability.IMAGE] -= 1
    index.update(account, now)


def build(*accounts: Account) -> SelectionIndex:
    index = SelectionIndex()
    for account in accounts:
        index.update(account, 0.0)
    return index


def test_least_loaded_then_least_recently_picked() -> None:
    a, b = make("a"), make("b")
    index = build(a, b)
    first, second = lease(index), lease(index)
    assert first is not None and second is not None
    assert {first.id, second.id} == {"a", "b"}  # equal load: the other one next
    release(index, first)
    assert lease(index) is first  # now the less loaded one


def test_fair_rotation_among_idle_accounts() -> None:
    accounts = [make(n) for n in "abcd"]
    index = build(*accounts)
    picks = Counter()
    for _ in range(40):
        account = lease(index)
        assert account is not None
        picks[account.id] += 1
        release(index, account)
    assert set(picks.values()) == {10}


def test_weight_and_limits() -> None:
    heavy, light = make("heavy", limit=4, weight=3.0), make("light", limit=4)
    index = build(heavy, light)
    held = [lease(index) for _ in range(8)]
    assert Counter(a.id for a in held if a) == {"heavy": 4, "light": 4}  # limits hold whatever the weight
    assert lease(index) is None
    index2 = build(make("h", limit=8, weight=3.0), make("l", limit=8))
    counts = Counter(a.id for a in (lease(index2) for _ in range(8)) if a)
    assert counts["h"] > counts["l"]


def test_cooldown_hides_then_returns_the_account() -> None:
    a = make("a")
    index = build(a)
    a.health = Health(AccountState.COOLING_DOWN, "rate limited", since=0, cooldown_until=30)
    index.update(a, 0)
    assert index.pick(IMAGE, 10) is None
    assert index.soonest_ready(IMAGE, 10) == 20
    assert index.pick(IMAGE, 30) is a


def test_not_serving_states_are_never_picked_but_counted_for_errors() -> None:
    a = make("a", groups=("ultra",), tier=Tier.ULTRA)
    index = build(a)
    a.health = Health(AccountState.DISABLED, "5 failures")
    index.update(a, 0)
    want = Want(Capability.IMAGE, groups=frozenset({"ultra"}))
    assert index.pick(want, 0) is None
    assert index.classes(want) == (True, True)
    assert index.reach(want, 0)[0] is Reach.NONE


def test_filters_tier_group_exclusion_credits() -> None:
    pro, ultra, broke = make("pro"), make("ultra", tier=Tier.ULTRA, groups=("vip",)), make("broke", credits=5)
    index = build(pro, ultra, broke)
    assert index.pick(Want(Capability.IMAGE, tier=Tier.ULTRA), 0) is ultra
    assert index.pick(Want(Capability.IMAGE, groups=frozenset({"vip"})), 0) is ultra
    assert index.classes(Want(Capability.IMAGE, groups=frozenset({"nope"}))) == (False, False)
    assert index.classes(Want(Capability.IMAGE, tier=Tier.ULTRA, groups=frozenset({"x"}))) == (False, False)
    assert index.pick(Want(Capability.IMAGE, exclude=frozenset({"ultra", "pro"})), 0) is broke
    assert index.pick(Want(Capability.IMAGE, exclude=frozenset({"ultra", "pro"}), credits=10), 0) is None
    assert index.pick(IMAGE, 0) is not None  # skipped entries were put back


def test_unknown_tier_may_serve_anything() -> None:
    unknown = make("u", tier=None)
    index = build(unknown)
    assert index.pick(Want(Capability.IMAGE, tier=Tier.ULTRA), 0) is unknown


def test_heaps_stay_bounded_under_churn() -> None:
    accounts = [make(str(i)) for i in range(10)]
    index = build(*accounts)
    for _ in range(5000):
        account = lease(index)
        assert account is not None
        release(index, account)
    sizes = [len(heap) for klass in index._classes.values() for heap in klass.ready.values()]
    assert max(sizes) <= 4 * 10 + 64 + 1


def test_requests_per_minute_hold_the_account_back_until_the_window_opens() -> None:
    a, b = make("a"), make("b")
    a.rpm = 2
    index = build(a, b)
    picks = []
    for second in range(6):  # six picks in six seconds, released at once
        account = lease(index, now=float(second))
        assert account is not None
        picks.append(account.id)
        release(index, account, now=float(second))
    assert picks.count("a") == 2  # at most 2 a minute, the rest went to b
    b.health = Health(AccountState.DISABLED, "off")
    index.update(b, 6.0)
    assert index.pick(IMAGE, 6.0) is None
    first_a = picks.index("a")
    assert index.soonest_ready(IMAGE, 6.0) == pytest.approx(first_a + 60 - 6.0)
    assert index.pick(IMAGE, first_a + 60.0) is a  # the window moved on


def test_daily_cap_counts_successes_and_in_flight_until_utc_midnight() -> None:
    day = 20_000 * 86_400.0  # a UTC midnight
    a = make("a")
    a.daily = {Capability.IMAGE: 2}
    index = build(a)
    a.usage.produced(Capability.IMAGE, credits=0, now=day + 10)
    index.update(a, day + 10)
    held = lease(index, now=day + 20)
    assert held is a  # one done, one in flight: the cap of 2 is now reached
    assert index.pick(IMAGE, day + 30) is None
    release(index, a, now=day + 40)  # the in-flight one failed: room again
    assert index.pick(IMAGE, day + 50) is a
    a.usage.produced(Capability.IMAGE, credits=0, now=day + 60)
    index.update(a, day + 60)
    assert index.pick(IMAGE, day + 70) is None
    assert index.soonest_ready(IMAGE, day + 70) == pytest.approx(86_400 - 70)
    assert index.pick(IMAGE, day + 86_400) is a  # a new UTC day
    assert index.pick(Want(Capability.VIDEO), day + 70) is a  # the cap is per capability


def test_a_refused_feature_skips_the_account_for_that_feature_only() -> None:
    a, b = make("a"), make("b")
    index = build(a, b)
    a.refused["veo_3_1-relaxed"] = 100.0
    index.update(a, 0)
    relaxed = Want(Capability.IMAGE, feature="veo_3_1-relaxed")
    assert {index.pick(relaxed, 0).id for _ in range(3)} == {"b"}  # type: ignore[union-attr]
    b.refused["veo_3_1-relaxed"] = 100.0
    index.update(b, 0)
    assert index.pick(relaxed, 0) is None
    assert index.reach(relaxed, 0)[0] is Reach.REFUSED
    assert index.pick(IMAGE, 0) is not None  # other features are unaffected
    assert index.pick(relaxed, 100.0) is not None  # the belief expires


def test_removed_accounts_are_never_picked() -> None:
    a, b = make("a"), make("b")
    index = build(a, b)
    index.remove("a")
    assert {index.pick(IMAGE, 0).id for _ in range(3)} == {"b"}  # type: ignore[union-attr]
    assert len(index) == 1


def test_a_lease_moves_only_its_capability_and_never_leaves_a_stale_entry() -> None:
    a, b = make("a", limit=1), make("b", limit=1)
    index = build(a, b)
    video = Want(Capability.VIDEO)
    first = index.pick(IMAGE, 0)
    assert first is not None
    first.inflight[Capability.IMAGE] += 1
    index.picked(first, 0, Capability.IMAGE)
    second = index.pick(IMAGE, 0)
    assert second is not None and second is not first  # the full one's old entry is gone
    second.inflight[Capability.IMAGE] += 1
    index.picked(second, 0, Capability.IMAGE)
    assert index.pick(IMAGE, 0) is None
    assert index.pick(video, 0) in (a, b)  # the video entries were left as they were
    first.inflight[Capability.IMAGE] -= 1
    index.moved(first, Capability.IMAGE, 0)
    assert index.pick(IMAGE, 0) is first


def test_a_lease_on_a_probing_account_re_indexes_every_capability() -> None:
    a = make("a")
    index = build(a)
    a.health = Health(AccountState.ACTIVE, "one failure", consecutive_failures=1)
    index.update(a, 0)
    a.inflight[Capability.IMAGE] += 1
    index.picked(a, 0, Capability.IMAGE)
    # Half-open: one lease in all, so the video side is closed too while the probe runs.
    assert index.pick(Want(Capability.VIDEO), 0) is None
    a.inflight[Capability.IMAGE] -= 1
    index.moved(a, Capability.IMAGE, 0)
    assert index.pick(Want(Capability.VIDEO), 0) is a
