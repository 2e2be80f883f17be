"""The account table (the only code changing an account: each change re-indexes and is marked for the
store by itself), its mirror of other replicas' leases, and the wording of the pool's refusals."""

from __future__ import annotations

import pytest

from gateway.domain import AccountKind, AccountRecord, Capability, Secret, Tier
from gateway.errors import NoCapacityError, PermissionDeniedError, ServiceUnavailableError
from gateway.pool.account import Account
from gateway.pool.ledger import LocalSlots
from gateway.pool.policy import AccountState, Health, Outcome
from gateway.pool.pool import AccountPool, LeaseRequest
from gateway.pool.profile import Profile
from gateway.pool.records import record_of
from gateway.pool.refusal import Ineligible, NoEligibleAccountError
from gateway.pool.table import AccountTable
from gateway.service.account_state import AccountStateKeeper
from gateway.service.refusals import client_error
from gateway.store.memory import MemoryStore
from tests.unit.test_pool import FakeClock

IMAGE = LeaseRequest(Capability.IMAGE)


def account(name: str, *, image: int = 2) -> Account:
    return Account(
        id=name,
        label=name,
        session_token=Secret(f"st-{name}"),
        tier=Tier.ULTRA,
        limits={Capability.IMAGE: image, Capability.VIDEO: 1},
    )


def profile(*, image: int, token: str = "st-a", groups: frozenset[str] = frozenset()) -> Profile:
    return Profile(
        label="a",
        kind=AccountKind.REST,
        session_token=Secret(token),
        groups=groups,
        limits={Capability.IMAGE: image, Capability.VIDEO: 1},
    )


def test_a_definition_applied_through_the_table_is_picked_on_at_once() -> None:
    table = AccountTable([account("a", image=1)])
    assert table.index.pick(IMAGE, 0.0) is not None
    assert not table.define("a", profile(image=0))  # same credentials
    assert table.index.pick(IMAGE, 0.0) is None  # no reindex() to remember
    assert table.define("a", profile(image=3, token="st-new"))  # new credentials: said so
    assert table.index.pick(IMAGE, 0.0) is not None
    (record,) = table.take_changes()  # marked for the store by itself
    assert record.account_id == "a" and table.take_changes() == []


def test_a_group_change_moves_the_account_between_classes() -> None:
    table = AccountTable([account("a")])
    vip = LeaseRequest(Capability.IMAGE, groups=frozenset({"vip"}))
    assert table.index.pick(vip, 0.0) is None
    table.define("a", profile(image=2, groups=frozenset({"vip"})))
    assert table.index.pick(vip, 0.0) is not None


def test_a_declared_tier_is_set_once_and_indexed() -> None:
    bare = account("a")
    bare.tier = None
    table = AccountTable([bare])
    table.declare_tier("a", Tier.PRO)
    table.declare_tier("a", Tier.ULTRA)  # a later hello does not overrule the first
    assert (bare.tier, bare.declared_tier) == (Tier.PRO, Tier.PRO)
    assert table.index.classes(LeaseRequest(Capability.IMAGE, tier=Tier.ULTRA)) == (True, False)


def test_absorb_applies_what_is_newer_and_shared_only() -> None:
    clock = FakeClock()
    mine, theirs = account("a"), account("a")
    table, other = AccountTable([mine], clock=clock), AccountTable([theirs], clock=clock)
    clock.advance(10)
    other.record(theirs, Outcome.RATE_LIMITED, retry_after=60)
    theirs.refused["veo"] = clock.now + 100
    theirs.usage.images_today = 7
    assert table.absorb([record_of(theirs)]) == 1
    assert mine.health == theirs.health and mine.refused == {"veo": clock.now + 100}
    assert mine.usage.images_today == 0  # usage is each replica's own
    assert table.index.pick(IMAGE, clock.now) is None  # the cooldown is honoured here
    assert table.take_changes() == []  # what it was told is not written back
    assert table.absorb([record_of(theirs)]) == 0  # nothing newer


def test_absorb_leaves_out_a_replicas_own_worker_state() -> None:
    mine = account("a")
    table = AccountTable([mine])
    away = AccountRecord("a", AccountState.NEEDS_WORKER.value, "its browser worker is not connected", 50.0)
    assert table.absorb([away]) == 0
    assert mine.health == Health()


def test_the_mirror_counts_other_replicas_leases_until_it_expires() -> None:
    clock = FakeClock()
    a = account("a", image=2)
    table = AccountTable([a], clock=clock, mirror_ttl=1.0)
    table.mirror.held(a, Capability.IMAGE, 2)  # two leases elsewhere: full here too
    assert table.index.pick(IMAGE, clock.now) is None
    assert table.mirror.next_expiry() == pytest.approx(1.0)
    clock.advance(1.0)
    assert table.mirror.expire()
    assert a.elsewhere[Capability.IMAGE] == 0 and table.index.pick(IMAGE, clock.now) is a


def test_a_ledgers_refusal_by_rate_holds_the_account_off_until_then() -> None:
    clock = FakeClock()
    a = account("a")
    a.rpm = 5
    table = AccountTable([a], clock=clock)
    table.mirror.hold_off(a, Capability.IMAGE, clock.now + 30)
    assert table.index.pick(IMAGE, clock.now) is None
    assert table.index.soonest_ready(IMAGE, clock.now) == pytest.approx(30)
    clock.advance(30)
    assert table.index.pick(IMAGE, clock.now) is a


async def test_the_local_ledger_never_suspends() -> None:
    ledger = LocalSlots()
    coroutine = ledger.claim(account("a"), Capability.IMAGE)
    with pytest.raises(StopIteration) as done:  # finished at its first step: no trip to the loop
        coroutine.send(None)
    assert done.value.value.granted


async def test_a_refused_claim_undoes_the_local_count_and_picks_elsewhere() -> None:
    a, b = account("a", image=1), account("b", image=1)

    class RefusesA(LocalSlots):
        async def claim(self, account: object, capability: Capability) -> object:  # type: ignore[override]
            if getattr(account, "id", "") == "a":
                return type("Refused", (), {"lease_id": "", "granted": False, "held": 1, "until": 0.0})()
            return await super().claim(account, capability)  # type: ignore[arg-type]

    pool = AccountPool([a, b], ledger=RefusesA())  # type: ignore[arg-type]
    async with pool.lease(IMAGE) as lease:
        assert lease.account is b
        assert (a.inflight[Capability.IMAGE], a.elsewhere[Capability.IMAGE]) == (0, 1)


WANT = LeaseRequest(Capability.VIDEO, tier=Tier.ULTRA, groups=frozenset({"vip"}), feature="veo")


@pytest.mark.parametrize(
    ("reason", "error", "status", "code", "words"),
    [
        (Ineligible.NO_GROUP, PermissionDeniedError, 403, "no_account_in_group", "group(s) vip"),
        (Ineligible.BELOW_TIER, PermissionDeniedError, 403, "model_not_allowed", "ultra account"),
        (Ineligible.INCIDENT, ServiceUnavailableError, 503, "upstream_incident", "upstream incident"),
        (Ineligible.PAUSED, NoCapacityError, 429, "rate_limit_exceeded", "short of capacity for veo"),
        (Ineligible.EXHAUSTED, NoCapacityError, 429, "rate_limit_exceeded", "daily quota of it"),
        (Ineligible.REFUSED, PermissionDeniedError, 403, "model_not_allowed", "refuses veo"),
        (Ineligible.UNOFFERED, PermissionDeniedError, 403, "model_not_offered", "catalogue offers veo"),
        (Ineligible.NO_ACCOUNT, ServiceUnavailableError, 503, "no_usable_accounts", "no usable"),
        (Ineligible.BUSY, NoCapacityError, 429, "rate_limit_exceeded", "busy or cooling down"),
        (Ineligible.PINNED_BUSY, NoCapacityError, 429, "rate_limit_exceeded", "holding this video is busy"),
        (Ineligible.PINNED_GONE, ServiceUnavailableError, 503, "account_unavailable", "cannot serve now"),
    ],
)
def test_each_refusal_has_its_client_error(
    reason: Ineligible, error: type[Exception], status: int, code: str, words: str
) -> None:
    said = client_error(NoEligibleAccountError(reason, WANT, retry_after=12.0))
    assert isinstance(said, error)
    assert (said.status, said.code) == (status, code)
    assert words in said.message
    if status != 403:
        assert said.retry_after == 12.0


async def test_states_that_could_not_be_written_are_written_next_time() -> None:
    class Down(MemoryStore):
        down = True

        async def put_accounts(self, records: list[AccountRecord]) -> None:
            if self.down:
                raise OSError("the store is down")
            await super().put_accounts(records)

    a = account("a")
    pool, store = AccountPool([a]), Down()
    keeper = AccountStateKeeper(pool, store)
    pool.table.record(a, Outcome.RATE_LIMITED, retry_after=30)
    with pytest.raises(OSError, match="down"):
        await keeper.flush()
    store.down = False
    assert await keeper.flush() == 1
    assert (await store.get_accounts())["a"].state == AccountState.COOLING_DOWN.value
