"""The lease helpers of ``service/refusals.py``: a refusal of the acquisition said as the client's
error, everything else untouched, and a held lease costing next to nothing on top of the pool's own
(a video holds its lease for minutes, thousands at once: M6's memory per video stream)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

import pytest

from gateway.domain import Capability
from gateway.errors import NoCapacityError, PermissionDeniedError, ServiceUnavailableError
from gateway.pool.pool import AccountPool, Lease, LeaseRequest
from gateway.pool.refusal import Ineligible, NoEligibleAccountError
from gateway.service import refusals
from tests.unit.test_pool import account

IMAGE = LeaseRequest(Capability.IMAGE)
HELD = 400  # leases held at once for the memory figure


async def test_a_refused_lease_is_the_clients_error() -> None:
    pool = AccountPool([account("a", groups=("x",))], wait_timeout=0.05)
    with pytest.raises(PermissionDeniedError) as caught:
        async with refusals.lease(pool, LeaseRequest(Capability.IMAGE, groups=frozenset({"y"}))):
            pytest.fail("no account is in group y")
    assert caught.value.code == "no_account_in_group"
    async with pool.lease(IMAGE), pool.lease(IMAGE):  # both slots of a
        with pytest.raises(NoCapacityError):
            async with refusals.lease_on(pool, "a", Capability.IMAGE):
                pytest.fail("a is busy")
    with pytest.raises(ServiceUnavailableError):
        async with refusals.lease_on(pool, "gone", Capability.IMAGE):
            pytest.fail("no such account")


async def test_what_happens_under_the_lease_passes_untouched_and_the_slot_is_freed() -> None:
    a = account("a")
    pool = AccountPool([a])
    inner = NoEligibleAccountError(Ineligible.BUSY, IMAGE)
    with pytest.raises(NoEligibleAccountError) as caught:  # raised by the work: not translated
        async with refusals.lease(pool, IMAGE) as lease:
            assert lease.account.id == "a" and a.inflight[Capability.IMAGE] == 1
            raise inner
    assert caught.value is inner
    async with refusals.lease_on(pool, "a", Capability.IMAGE):
        assert a.inflight[Capability.IMAGE] == 1
    assert a.inflight[Capability.IMAGE] == 0


async def bytes_per_held_lease(enter: Callable[[AccountPool], AbstractAsyncContextManager[Lease]]) -> float:
    """Python memory per lease while ``HELD`` leases taken through ``enter`` are held."""
    a = account("a", image=HELD)
    pool = AccountPool([a])
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(enter(pool))  # warm: first-use caches are not per lease
        gc.collect()
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(HELD - 1):
                await stack.enter_async_context(enter(pool))
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            if started:
                tracemalloc.stop()
        assert a.inflight[Capability.IMAGE] == HELD
    assert a.inflight[Capability.IMAGE] == 0
    return held / (HELD - 1)


async def test_a_held_lease_costs_little_more_than_the_pools_own() -> None:
    bare = await bytes_per_held_lease(lambda pool: pool.lease(IMAGE))
    said = await bytes_per_held_lease(lambda pool: refusals.lease(pool, IMAGE))
    # The helper is one slotted object (~50 bytes); an @asynccontextmanager over an AsyncExitStack,
    # as it was, kept a generator frame and a stack per lease: about 1.3 KB more.
    assert said - bare < 250, (bare, said)
