"""A licence's priority orders the wait for a busy pool: higher first, first come first served
within a priority, and a lower priority still served when no higher one can use the slot."""

from __future__ import annotations

import asyncio

from gateway.domain import Capability, Secret, Tier
from gateway.pool.account import Account
from gateway.pool.pool import AccountPool, LeaseRequest


def account(name: str, *, groups: tuple[str, ...] = ()) -> Account:
    return Account(
        id=name,
        label=name,
        session_token=Secret(f"st-{name}"),
        tier=Tier.ULTRA,
        groups=frozenset(groups),
        limits={Capability.IMAGE: 1, Capability.VIDEO: 1},
    )


async def until(predicate: object, rounds: int = 200) -> None:
    for _ in range(rounds):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError("never")


async def test_higher_priority_waits_less_and_arrival_orders_equals() -> None:
    pool = AccountPool([account("a")], wait_timeout=5)
    served: list[str] = []

    async def waiter(name: str, priority: int) -> None:
        async with pool.lease(LeaseRequest(Capability.IMAGE, priority=priority)):
            served.append(name)

    async with pool.lease(LeaseRequest(Capability.IMAGE)):
        tasks = []
        for name, priority in (("low1", 0), ("high1", 5), ("low2", 0), ("high2", 5), ("neg", -1)):
            tasks.append(asyncio.ensure_future(waiter(name, priority)))
            waiting = len(tasks)
            await until(lambda: pool.waiting == waiting)  # noqa: B023 - awaited before the loop moves on
    await asyncio.gather(*tasks)
    assert served == ["high1", "high2", "low1", "low2", "neg"]


async def test_a_higher_priority_that_cannot_use_the_slot_does_not_block_a_lower_one() -> None:
    pool = AccountPool([account("a", groups=("x",)), account("b", groups=("y",))], wait_timeout=5)
    served: list[str] = []

    async def waiter(name: str, group: str, priority: int) -> None:
        async with pool.lease(LeaseRequest(Capability.IMAGE, groups=frozenset({group}), priority=priority)):
            served.append(name)

    async with pool.lease(LeaseRequest(Capability.IMAGE, groups=frozenset({"x"}))):
        async with pool.lease(LeaseRequest(Capability.IMAGE, groups=frozenset({"y"}))):
            high = asyncio.ensure_future(waiter("high-x", "x", 9))
            low = asyncio.ensure_future(waiter("low-y", "y", 0))
            await until(lambda: pool.waiting == 2)
        await low  # y's slot is free: the lower priority takes it while x stays busy
        assert served == ["low-y"]
    await high
    assert served == ["low-y", "high-x"]
