"""One serving gateway per Redis: a second waits for the lease, gets it when the first releases it
or when it expires, and gives up with a clear error past its wait; the CLI (a bare store) takes none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.errors import StoreUnavailableError
from gateway.store.redis_store import RedisStore
from tests.support.redis_server import RedisServer, unique_prefix


@pytest.fixture
async def two(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    prefix = unique_prefix()
    first, second = RedisStore(redis_server.url, prefix=prefix), RedisStore(redis_server.url, prefix=prefix)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def test_a_second_gateway_waits_then_gives_up_and_gets_it_once_released(
    two: tuple[RedisStore, RedisStore],
) -> None:
    first, second = two
    held = first.replica_lease()
    await held.acquire(wait=0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # a fake clock: each wait moves it on
        slept.append(seconds)
        now[0] += seconds

    now = [0.0]
    waiting = second.replica_lease()
    waiting._sleep, waiting._clock = sleep, lambda: now[0]
    with pytest.raises(StoreUnavailableError, match="another gateway is serving"):
        await waiting.acquire(wait=3)
    assert slept == [1.0, 1.0, 1.0]  # it waited, polling, for its whole wait
    assert await held.renew() is True
    await held.release()
    await waiting.acquire(wait=0)  # released: taken at once
    assert await held.renew() is False  # the old holder no longer holds it
    await waiting.release()


async def test_an_expired_lease_is_taken_over(two: tuple[RedisStore, RedisStore]) -> None:
    first, second = two
    crashed = first.replica_lease()
    await crashed.acquire(wait=0)
    await crashed._redis.pexpire(crashed._key, 1)
    while await crashed._redis.exists(crashed._key):
        pass
    successor = second.replica_lease()
    await successor.acquire(wait=0)
    assert await crashed.renew() is False
    await crashed.release()  # releasing what it no longer holds leaves the successor's lease alone
    assert await successor.renew() is True
    await successor.release()
