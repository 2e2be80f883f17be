"""Waiting for an account: first come first served, one waiter woken per freed slot (the slot handed
over, not raced for), other wants not blocked, a cooldown's end wakes the queue."""

from __future__ import annotations

import asyncio

import pytest

from gateway.domain import Capability, Secret, Tier
from gateway.errors import NoCapacityError
from gateway.pool.account import Account
from gateway.pool.policy import Outcome
from gateway.pool.pool import AccountPool, LeaseRequest
from gateway.service import refusals

IMAGE = LeaseRequest(Capability.IMAGE)


def account(name: str, *, groups: tuple[str, ...] = (), limit: int = 1) -> Account:
    return Account(
        id=name,
        label=name,
        session_token=Secret(f"st-{name}"),
        tier=Tier.ULTRA,
        groups=frozenset(groups),
        limits={Capability.IMAGE: limit, Capability.VIDEO: 1},
    )


async def until(predicate: object, rounds: int = 200) -> None:
    for _ in range(rounds):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError("never")


async def test_freed_slots_go_to_waiters_in_arrival_order() -> None:
    pool = AccountPool([account("a")], wait_timeout=5)
    order: list[int] = []

    async def waiter(i: int, ready: asyncio.Event) -> None:
        async with pool.lease(IMAGE):
            order.append(i)
            await ready.wait()

    async with pool.lease(IMAGE):
        gates = [asyncio.Event() for _ in range(4)]
        tasks = [asyncio.ensure_future(waiter(i, gates[i])) for i in range(4)]
        await until(lambda: pool.waiting == 4)
    for i, gate in enumerate(gates):
        await until(lambda i=i: len(order) == i + 1)  # type: ignore[misc]
        assert pool.waiting == 3 - i  # exactly one woken per freed slot
        gate.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3]


async def test_a_newcomer_does_not_take_a_slot_handed_to_a_waiter() -> None:
    pool = AccountPool([account("a")], wait_timeout=0.05)
    got: list[str] = []
    held = pool.lease(IMAGE)  # kept referenced: a collected context manager would release its slot
    async with pool.lease(IMAGE):
        first = asyncio.ensure_future(held.__aenter__())
        await until(lambda: pool.waiting == 1)
    # The release handed the slot to the waiter before anyone else could look.
    with pytest.raises(NoCapacityError):
        async with refusals.lease(pool, LeaseRequest(Capability.IMAGE)):
            got.append("newcomer")
    lease = await first
    assert lease.account.id == "a" and got == []
    await held.__aexit__(None, None, None)


async def test_other_wants_are_not_blocked_behind_one_that_cannot_be_served() -> None:
    pool = AccountPool([account("a", groups=("x",)), account("b", groups=("y",))], wait_timeout=5)
    want_x = LeaseRequest(Capability.IMAGE, groups=frozenset({"x"}))
    want_y = LeaseRequest(Capability.IMAGE, groups=frozenset({"y"}))
    later = [pool.lease(want_x), pool.lease(want_y)]
    async with pool.lease(want_x), pool.lease(want_y):
        waiting = [asyncio.ensure_future(cm.__aenter__()) for cm in later]
        await until(lambda: pool.waiting == 2)
    done = await asyncio.gather(*waiting)
    assert [lease.account.id for lease in done] == ["a", "b"]
    for cm in later:
        await cm.__aexit__(None, None, None)


async def test_a_cooldown_ending_wakes_the_queue() -> None:
    a = account("a")
    pool = AccountPool([a], wait_timeout=5)
    pool.table.record(a, Outcome.RATE_LIMITED, retry_after=0.05)
    async with asyncio.timeout(2):
        async with pool.lease(IMAGE) as lease:  # waits for the timer, not for a release
            assert lease.account.id == "a"


async def test_a_waiter_that_gives_up_leaves_no_slot_behind() -> None:
    a = account("a")
    pool = AccountPool([a], wait_timeout=0.05)
    async with pool.lease(IMAGE):
        with pytest.raises(NoCapacityError):
            async with refusals.lease(pool, IMAGE):
                pass
        assert pool.waiting == 0
    assert a.inflight[Capability.IMAGE] == 0
