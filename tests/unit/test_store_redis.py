"""The Redis store beyond the conformance suite (which runs on every backend): two replicas on one
Redis see each other's writes at once and hear of them, one secret wins a race, listings walk long
runs of equal timestamps exactly as the memory backend orders them, and a Redis that goes away
fails every operation with the 503 error until it is back, with nothing lost."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.domain import (
    AccountDefinition,
    AccountKind,
    DeliveryStatus,
    Kind,
    LicenceDefinition,
    TaskRecord,
    TaskStage,
    TaskStatus,
    UsageOutcome,
    UsageRecord,
    WebhookDelivery,
)
from gateway.errors import StoreUnavailableError
from gateway.store.base import USAGE_GROUPS, Store, TaskQuery, UsageQuery
from gateway.store.memory import MemoryStore
from gateway.store.redis_store import RedisStore
from tests.support.redis_server import RedisServer, start_server, unique_prefix


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two stores on one Redis under one prefix, as two gateway replicas would be."""
    prefix = unique_prefix()
    first, second = RedisStore(redis_server.url, prefix=prefix), RedisStore(redis_server.url, prefix=prefix)
    await first.open()
    await second.open()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def listening(store: RedisStore) -> None:
    """Subscribed, and the wake every (re)subscription gives every topic consumed."""
    await store.changes.subscribed()
    for topic in ("accounts", "licences"):
        await store.wait_for_change(topic, 0)


def task(task_id: str, owner: str, kind: Kind, status: TaskStatus, at: float) -> TaskRecord:
    return TaskRecord(task_id, owner, kind, "m", "p", status, TaskStage.QUEUED, at, at)


async def test_replicas_see_each_others_writes_and_revisions(replicas: tuple[RedisStore, RedisStore]) -> None:
    one, two = replicas
    definition = AccountDefinition("acc_1", AccountKind.REST, "one", created_at=1.0)
    await one.put_definitions([definition])
    assert await two.get_definitions() == [definition]
    assert await two.definitions_revision() == await one.definitions_revision() == 1
    await one.put_licence(LicenceDefinition("lic_1", "One", "a" * 64))
    assert [lic.id for lic in await two.get_licences()] == ["lic_1"]
    assert await two.licences_revision() == 1
    await two.put_task(task("t1", "lic_1", Kind.VIDEO, TaskStatus.IN_PROGRESS, 5.0))
    assert [t.id for t in await one.unfinished_tasks()] == ["t1"]
    await one.put_task(task("t1", "lic_1", Kind.VIDEO, TaskStatus.COMPLETED, 5.0))
    assert await two.unfinished_tasks() == []  # the status index moved with the write
    assert (await two.get_task("t1")).status is TaskStatus.COMPLETED  # type: ignore[union-attr]


async def test_a_replica_hears_of_anothers_change_at_once(replicas: tuple[RedisStore, RedisStore]) -> None:
    one, two = replicas
    await listening(two)
    assert await two.wait_for_change("licences", 0) is False  # nothing changed since
    await one.put_licence(LicenceDefinition("lic_1", "One", "a" * 64))
    assert await two.wait_for_change("licences", 30) is True  # woken by the message, not the timeout
    assert await two.wait_for_change("accounts", 0) is False  # only the topic that changed
    await one.delete_definition("acc_gone")  # SQLite's semantics: a delete moves the revision anyway
    assert await two.wait_for_change("accounts", 30) is True


async def test_other_prefixes_are_other_stores(redis_server: RedisServer) -> None:
    mine, theirs = RedisStore(redis_server.url, prefix=unique_prefix()), RedisStore(redis_server.url)
    await mine.open()
    await theirs.open()
    try:
        await mine.set_project("acc", "p1")
        await mine.put_licence(LicenceDefinition("lic_1", "One", "a" * 64))
        assert await theirs.get_project("acc") is None
        assert await theirs.get_licence("lic_1") is None
    finally:
        await mine.close()
        await theirs.close()


async def test_replicas_racing_to_make_a_secret_keep_one(replicas: tuple[RedisStore, RedisStore]) -> None:
    one, two = replicas
    attempts = [
        store.set_secret_if_absent("signing_key", f"candidate-{i}")
        for i, store in zip(range(50), itertools.cycle((one, two)), strict=False)
    ]
    kept = set(await asyncio.gather(*attempts))
    assert len(kept) == 1
    assert await one.get_secret("signing_key") == await two.get_secret("signing_key") == kept.pop()


@pytest.fixture
async def memory_and_redis(redis_server: RedisServer) -> AsyncIterator[tuple[Store, Store]]:
    redis = RedisStore(redis_server.url, prefix=unique_prefix())
    await redis.open()
    try:
        yield MemoryStore(), redis
    finally:
        await redis.close()


async def pages(store: Store, query: TaskQuery) -> list[list[str]]:
    """Every page of ``query``, following the cursor to the end."""
    found, after = [], None
    while True:
        page, more = await store.list_tasks(dataclasses.replace(query, after=after))
        found.append([t.id for t in page])
        if not more:
            return found
        after = page[-1].id


async def test_task_pages_over_long_ties_match_the_memory_backend(
    memory_and_redis: tuple[Store, Store],
) -> None:
    """330 tasks on three timestamps (110 apiece: over two chunks), owners, kinds and statuses
    mixed: every query shape pages to the same ids, in the same order, on both backends."""
    kinds, statuses = list(Kind), [TaskStatus.QUEUED, TaskStatus.COMPLETED, TaskStatus.FAILED]
    records = [
        task(f"t{i:03d}", f"lic-{i % 2}", kinds[i % 2], statuses[i % 3], float(1 + i % 3)) for i in range(330)
    ]
    for store in memory_and_redis:
        await store.put_tasks(records)
    queries = [
        TaskQuery(owner="lic-0", kind=Kind.IMAGE, limit=7),
        TaskQuery(owner="lic-1", kind=None, limit=11, descending=False),
        TaskQuery(owner="", kind=None, all_owners=True, limit=25),
        TaskQuery(owner="", kind=Kind.VIDEO, all_owners=True, status=TaskStatus.FAILED, limit=4),
        TaskQuery(owner="lic-0", kind=None, status=TaskStatus.QUEUED, limit=3, descending=False),
        TaskQuery(owner="nobody", kind=None),
    ]
    memory, redis = memory_and_redis
    for query in queries:
        assert await pages(redis, query) == await pages(memory, query), query
    unknown = TaskQuery(owner="lic-0", kind=None, after="t-unknown")
    assert await redis.list_tasks(unknown) == ([], False)


async def test_usage_listings_and_sums_match_the_memory_backend(
    memory_and_redis: tuple[Store, Store],
) -> None:
    outcomes = list(UsageOutcome)
    records = [
        UsageRecord(
            id=f"u{i:03d}",
            licence_id=f"lic-{i % 3}",
            kind=("image", "video")[i % 2],
            model=("nano_banana", "veo_3_1")[i % 2],
            account_id=f"acc-{i % 4}",
            day=f"2025-12-0{1 + i % 3}",
            outcome=outcomes[i % len(outcomes)],
            count=1 + i % 2,
            credits_reserved=i % 7,
            credits_settled=i % 5,
            created_at=float(100 + i % 9),  # ties again
        )
        for i in range(240)
    ]
    for store in memory_and_redis:
        await store.put_usage(records)
    memory, redis = memory_and_redis
    windows = [
        UsageQuery(),
        UsageQuery(since=103.0, until=107.0, licence_id="lic-1"),
        UsageQuery(outcome="reserved"),
    ]
    for window in windows:
        for group_by in [(), ("licence_id",), ("day", "kind"), USAGE_GROUPS]:
            assert await redis.usage_totals(window, group_by) == await memory.usage_totals(window, group_by)
        first = await redis.list_usage(dataclasses.replace(window, limit=13))
        rest = await redis.list_usage(dataclasses.replace(window, after=first[-1].id, limit=1000))
        assert first + rest == await memory.list_usage(window)


async def test_outbox_listings_match_the_memory_backend(memory_and_redis: tuple[Store, Store]) -> None:
    statuses = list(DeliveryStatus)
    for i in range(90):
        delivery = WebhookDelivery(
            id=f"msg_{i:03d}",
            licence_id=f"lic-{i % 2}",
            task_id=f"t{i % 5}",
            url="https://hooks.example/in",
            event="video.completed",
            body=b"{}",
            created_at=float(i % 4),
            next_at=float(i % 6),
            status=statuses[i % len(statuses)],
        )
        for store in memory_and_redis:
            await store.put_delivery(delivery)
    memory, redis = memory_and_redis
    for filters in [{}, {"licence_id": "lic-1"}, {"task_id": "t3", "status": DeliveryStatus.PENDING}]:
        assert await redis.list_deliveries(**filters, limit=70) == await memory.list_deliveries(
            **filters, limit=70
        )  # type: ignore[arg-type]
    assert await redis.due_deliveries(3.0, 100) == await memory.due_deliveries(3.0, 100)
    assert await redis.outbox_backlog() == await memory.outbox_backlog()


async def test_redis_going_away_fails_fast_with_503_and_recovers(tmp_path: Path) -> None:
    server = start_server(tmp_path / "redis", keep_data=True)  # its own, to stop and start again
    store = RedisStore(server.url, prefix=unique_prefix())
    try:
        await store.open()
        record = task("t1", "lic", Kind.VIDEO, TaskStatus.IN_PROGRESS, 1.0)
        await store.put_task(record)
        await store.changes.subscribed()
        server.stop()
        with pytest.raises(StoreUnavailableError) as caught:
            await store.get_task("t1")
        error = caught.value
        assert (error.status, error.code, error.retry_after) == (503, "store_unavailable", 2.0)
        assert isinstance(error, OSError)  # the background loops' "store is down, try later"
        with pytest.raises(StoreUnavailableError):
            await store.put_task(dataclasses.replace(record, status=TaskStatus.COMPLETED))
        assert await store.ping() is False  # readiness says so without raising
        server.start()
        assert await store.get_task("t1") == record  # nothing lost, nothing half-written
        assert await store.ping() is True
        await store.put_task(dataclasses.replace(record, status=TaskStatus.COMPLETED))
        assert await store.unfinished_tasks() == []
        await store.changes.subscribed(times=2)  # the subscription came back by itself
    finally:
        await store.close()
        server.stop()


@pytest.mark.parametrize("steps", range(8))
async def test_closing_at_any_point_of_the_subscription_ends_it(
    redis_server: RedisServer, steps: int
) -> None:
    """A CLI command opens and closes the store in a blink: the listener may still be subscribing,
    where the client swallows a cancellation (redis-py 8.1); close must end it all the same."""
    store = RedisStore(redis_server.url, prefix=unique_prefix())
    await store.open()
    for _ in range(steps):
        await asyncio.sleep(0)  # a step of the event loop: the subscription moves on
    async with asyncio.timeout(10):
        await store.close()


async def test_a_gateway_pointed_at_no_redis_does_not_start(tmp_path: Path) -> None:
    server = start_server(tmp_path / "redis")
    url = server.url
    server.stop()
    with pytest.raises(StoreUnavailableError, match=f"Redis does not answer at 127.0.0.1:{server.port}"):
        await RedisStore(url.replace("redis://", "redis://:hunter2@")).open()  # the password never shows
