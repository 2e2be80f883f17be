"""What Flow's reasons do to the pool: a model's daily quota, a lowered concurrency, a feature paused
for everybody, a flagged account, and routing by each account's catalogue (offers and needs)."""

from __future__ import annotations

import pytest

from gateway.domain import Capability, Secret, Tier
from gateway.errors import NoCapacityError, PermissionDeniedError
from gateway.pool.account import Account, next_midnight
from gateway.pool.policy import AccountState, Outcome, Rules
from gateway.pool.pool import AccountPool, LeaseRequest, OutcomeDetail
from gateway.pool.table import AccountTable
from gateway.service import refusals
from tests.unit.test_pool import FakeClock

FEATURE = "nano_banana_pro"
WANT = LeaseRequest(Capability.IMAGE, feature=FEATURE)


def account(name: str, *, offers: frozenset[str] | None = None, image: int = 3) -> Account:
    return Account(
        id=name,
        label=name,
        session_token=Secret(f"st-{name}"),
        tier=Tier.ULTRA,
        limits={Capability.IMAGE: image, Capability.VIDEO: 1},
        offers=offers,
    )


async def test_a_model_quota_skips_that_feature_on_that_account_until_midnight() -> None:
    clock = FakeClock()
    a, b = account("a"), account("b")
    pool = AccountPool([a, b], clock=clock)
    pool.table.record(a, Outcome.MODEL_QUOTA, retry_after=None, detail=OutcomeDetail(feature=FEATURE))
    assert a.health.state is AccountState.ACTIVE  # the account itself is fine
    for _ in range(3):
        async with pool.lease(WANT) as lease:
            assert lease.account.id == "b"
    async with pool.lease(LeaseRequest(Capability.IMAGE, feature="nano_banana")) as lease:
        pass  # other features still use it
    pool.table.record(b, Outcome.MODEL_QUOTA, retry_after=None, detail=OutcomeDetail(feature=FEATURE))
    with pytest.raises(NoCapacityError) as caught:
        refusals.check(pool, WANT)
    assert caught.value.retry_after == pytest.approx(next_midnight(clock.now) - clock.now)
    clock.now = next_midnight(clock.now) + 1
    pool.check(WANT)  # a new UTC day: the quota is back


async def test_a_concurrency_limit_lowers_the_accounts_limit_to_what_runs() -> None:
    a = account("a", image=3)
    pool = AccountPool([a])
    async with pool.lease(WANT), pool.lease(WANT), pool.lease(WANT) as third:
        third.report(Outcome.CONCURRENCY)
    assert a.limits[Capability.IMAGE] == 2
    assert a.health.state is AccountState.ACTIVE


async def test_an_overloaded_feature_pauses_for_everybody() -> None:
    clock = FakeClock()
    a, b = account("a"), account("b")
    pool = AccountPool([a, b], clock=clock)
    pool.table.record(a, Outcome.OVERLOADED, retry_after=45, detail=OutcomeDetail(feature=FEATURE))
    with pytest.raises(NoCapacityError) as caught:
        refusals.check(pool, WANT)
    assert caught.value.retry_after == 45
    assert a.health.state is AccountState.ACTIVE and b.health.state is AccountState.ACTIVE
    clock.advance(46)
    pool.check(WANT)


async def test_a_flagged_account_pauses() -> None:
    clock = FakeClock()
    a = account("a")
    pool = AccountPool(AccountTable([a], rules=Rules(flagged_pause=600), clock=clock), clock=clock)
    pool.table.record(a, Outcome.FLAGGED, retry_after=None)
    assert a.health.state is AccountState.COOLING_DOWN and a.health.cooldown_until == clock.now + 600
    assert "unusual activity" in a.health.reason


async def test_needs_route_to_accounts_whose_catalogue_offers_them() -> None:
    knows = account("knows", offers=frozenset({"image:BELUGA"}))
    lacks = account("lacks", offers=frozenset({"image:NARWHAL"}))
    unknown = account("unknown", offers=None)
    pool = AccountPool([knows, lacks, unknown])
    want = LeaseRequest(Capability.IMAGE, needs=(frozenset({"image:BELUGA", "image:GEM"}),))
    seen = set()
    for _ in range(6):
        async with pool.lease(want) as lease:
            seen.add(lease.account.id)
    assert seen == {"knows", "unknown"}
    only = AccountPool([lacks])
    with pytest.raises(PermissionDeniedError) as caught:
        refusals.check(only, want)
    assert caught.value.code == "model_not_offered"
