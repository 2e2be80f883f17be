"""Task claims on a real Redis, script by script: orphans claimed in batches and returned as stored
after the claim, fenced writes (a task held by another replica, or by none, is never written), a
finished task's claim dropped with its last write, renewals reporting what was lost, release and
seize waking the other replicas, and a cancel racing a runner's ``submitting`` write: exactly one
of the two wins, every time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from gateway.domain import Kind, TaskRecord, TaskStage, TaskStatus
from gateway.errors import StoreUnavailableError
from gateway.store.redis_claims import RedisTaskClaims
from gateway.store.redis_store import RedisStore
from tests.support.redis_server import RedisServer, unique_prefix

Pair = tuple[RedisStore, RedisTaskClaims, RedisTaskClaims]


def task(task_id: str, stage: TaskStage = TaskStage.QUEUED) -> TaskRecord:
    now = time.time()
    return TaskRecord(task_id, "lic", Kind.VIDEO, "veo_3_1", "p", TaskStatus.QUEUED, stage, now, now)


@pytest.fixture
async def pair(redis_server: RedisServer) -> AsyncIterator[Pair]:
    """One store, and the claims of two replicas (two stores on one prefix, for their change feeds)."""
    prefix = unique_prefix()
    one, two = RedisStore(redis_server.url, prefix=prefix), RedisStore(redis_server.url, prefix=prefix)
    await one.open()
    await two.open()
    try:
        yield one, one.task_claims(ttl=30.0), two.task_claims(ttl=30.0)
    finally:
        await one.close()
        await two.close()


async def holder(store: RedisStore, task_id: str) -> str | None:
    value = await store._redis.get(store._key("own", task_id))
    return None if value is None else value.decode()


async def test_orphans_are_claimed_in_batches_once_each_as_stored_after_the_claim(pair: Pair) -> None:
    store, a, b = pair
    await store.put_tasks([task(f"video_{i}") for i in range(5)])
    await store.put_task(replace(task("video_done"), status=TaskStatus.COMPLETED))
    first, more = await a.claim_orphans(3)
    assert (len(first), more) == (3, True)
    second, more = await b.claim_orphans(3)
    assert (len(second), more) == (2, False)
    assert sorted(r.id for r in first + second) == [f"video_{i}" for i in range(5)]  # never the finished one
    assert await a.claim_orphans(10) == ([], False)
    assert {await holder(store, r.id) for r in first} == {a.token}


async def test_writes_are_fenced_by_the_claim(pair: Pair) -> None:
    store, a, b = pair
    assert await a.write([task("video_1")], new=True) == set()
    assert await holder(store, "video_1") == a.token
    assert await b.write([task("video_1")], new=True) == {"video_1"}  # a holds it
    moved = replace(task("video_1"), stage=TaskStage.SUBMITTING)
    assert await b.write([moved]) == {"video_1"}
    assert (await store.get_task("video_1")).stage is TaskStage.QUEUED  # type: ignore[union-attr]
    assert await a.write([moved, task("video_2")], batch=True) == {"video_2"}  # nobody holds video_2
    assert await store.get_task("video_2") is None
    assert (await store.get_task("video_1")).stage is TaskStage.SUBMITTING  # type: ignore[union-attr]
    done = replace(moved, status=TaskStatus.COMPLETED, stage=TaskStage.DONE)
    assert await a.write([done]) == set()
    assert await holder(store, "video_1") is None  # the claim went with the last write
    assert (await store.get_task("video_1")).status is TaskStatus.COMPLETED  # type: ignore[union-attr]
    assert await store.unfinished_tasks() == []  # the indexes moved with the fenced write


async def test_renew_reports_lost_claims_and_release_and_seize_wake_the_others(pair: Pair) -> None:
    store, a, b = pair
    await a.write([task("video_1"), task("video_2")], new=True)
    assert await a.renew(["video_1", "video_2"]) == set()
    await b.wait(0)  # whatever the subscription woke at first
    assert await b.seize("video_1")
    assert await holder(store, "video_1") == b.token
    assert await a.wait(5)  # told at once
    assert await a.renew(["video_1", "video_2"]) == {"video_1"}
    await a.release(["video_1", "video_2"], announce=True)
    assert await b.wait(5)
    assert await holder(store, "video_1") == b.token  # not a's to release
    assert await holder(store, "video_2") is None


async def test_seize_takes_only_an_unfinished_task_at_the_stage_asked(pair: Pair) -> None:
    store, a, b = pair
    await a.write([task("video_1", TaskStage.GENERATING)], new=True)
    assert not await b.seize("video_1", stage=TaskStage.QUEUED)
    assert await holder(store, "video_1") == a.token
    assert not await b.seize("video_unknown")
    await a.write([replace(task("video_1"), status=TaskStatus.FAILED)])  # failed while queued
    assert not await b.seize("video_1", stage=TaskStage.QUEUED)


async def test_a_cancel_racing_the_submitting_write_lets_exactly_one_win(pair: Pair) -> None:
    store, a, b = pair
    for i in range(40):
        record = task(f"video_{i}")
        await a.write([record], new=True)
        submitting = replace(record, stage=TaskStage.SUBMITTING)
        refused, seized = await asyncio.gather(
            a.write([submitting]), b.seize(record.id, stage=TaskStage.QUEUED)
        )
        assert bool(refused) == seized  # submitted XOR cancelled, never both, never neither
        stored = await store.get_task(record.id)
        assert stored is not None
        assert stored.stage is (TaskStage.QUEUED if seized else TaskStage.SUBMITTING)


async def test_claims_answer_503_while_redis_is_away(pair: Pair) -> None:
    store, a, _ = pair
    await store._redis.connection_pool.disconnect()
    store._redis.connection_pool.connection_kwargs["port"] = 1  # nothing listens there
    with pytest.raises(StoreUnavailableError):
        await a.renew(["video_1"])
