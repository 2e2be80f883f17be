"""Task ownership across replicas: two engines on one real Redis and prefix, with a fake video runner
that counts its submits. Each unfinished task is resumed once when both start at once; a replica
that goes silent has its polling video taken over after the claim's expiry and completed without a
second submit (and its own runner, still alive, can write nothing more); a graceful shutdown hands
over at once; a task caught in ``submitting`` is failed by the taker, never resubmitted; cancel and
delete work from the replica that does not run the task; the sweep survives Redis going away."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from gateway.domain import Kind, TaskRecord, TaskStage, TaskStatus, UpstreamMedia
from gateway.errors import ConflictError, NotFoundError
from gateway.media.storage import DiskMediaStore
from gateway.service.tasks import Saver, TaskEngine
from gateway.store.redis_store import RedisStore
from tests.support.redis_server import RedisServer, start_server, unique_prefix

DEADLINE = 10.0  # seconds any awaited condition may take before the test fails


@dataclass
class FakeFlow:
    """What the runners of both replicas talk to: submits counted per task, jobs finished on demand."""

    submits: collections.Counter[str] = field(default_factory=collections.Counter)
    open_queue: asyncio.Event = field(default_factory=asyncio.Event)  # queued tasks wait for it
    in_submit: asyncio.Event = field(default_factory=asyncio.Event)  # set when a runner is mid-submit
    hang_submit: bool = False  # the runner dies inside the submit (never returns)
    jobs_done: collections.defaultdict[str, asyncio.Event] = field(
        default_factory=lambda: collections.defaultdict(asyncio.Event)
    )


class FakeVideoRunner:
    """Behaves as ``VideoRunner`` does at each stage: queued -> submitting (written first) -> submit ->
    generating (job id written) -> wait for the job -> completed; resumed in ``submitting``: failed,
    never sent again; resumed with a job: polls it."""

    def __init__(self, flow: FakeFlow) -> None:
        self.flow = flow
        self.runs: list[tuple[str, TaskStage]] = []

    async def run(self, record: TaskRecord, save: Saver) -> None:
        self.runs.append((record.id, record.stage))
        if record.stage is TaskStage.SUBMITTING:
            await save(replace(record, status=TaskStatus.FAILED, error_code="interrupted"))
            return
        if record.stage is TaskStage.QUEUED:
            await self.flow.open_queue.wait()
            record = replace(record, stage=TaskStage.SUBMITTING, attempts=record.attempts + 1)
            await save(record)
            self.flow.in_submit.set()
            if self.flow.hang_submit:
                await asyncio.Event().wait()
            self.flow.submits[record.id] += 1
            job = UpstreamMedia(f"job-{record.id}", "project")
            record = replace(record, status=TaskStatus.IN_PROGRESS, stage=TaskStage.GENERATING, job=job)
            await save(record)
        await self.flow.jobs_done[record.id].wait()
        await save(replace(record, status=TaskStatus.COMPLETED, stage=TaskStage.DONE, progress=100))


def video(task_id: str, stage: TaskStage = TaskStage.QUEUED) -> TaskRecord:
    now = time.time()
    status = (
        TaskStatus.QUEUED if stage in (TaskStage.QUEUED, TaskStage.SUBMITTING) else TaskStatus.IN_PROGRESS
    )
    job = UpstreamMedia(f"job-{task_id}", "project") if stage is TaskStage.GENERATING else None
    return TaskRecord(task_id, "lic", Kind.VIDEO, "veo_3_1", "p", status, stage, now, now, job=job)


@dataclass
class Replica:
    store: RedisStore
    engine: TaskEngine
    runner: FakeVideoRunner
    finished: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


Replicas = Callable[..., Awaitable[Replica]]


@pytest.fixture
async def replicas(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[Replicas]:
    """A maker of replicas on the session's Redis, all under one prefix (stopped afterwards)."""
    prefix = unique_prefix()
    async with AsyncExitStack() as stack:

        async def make(flow: FakeFlow, *, ttl: float = 30.0, url: str = redis_server.url) -> Replica:
            store = RedisStore(url, prefix=prefix)
            await store.open()
            stack.push_async_callback(store.close)
            runner = FakeVideoRunner(flow)
            engine = TaskEngine(
                store=store,
                media=DiskMediaStore(tmp_path),
                runners={Kind.VIDEO: runner},
                claims=store.task_claims(ttl=ttl),
            )
            replica = Replica(store, engine, runner)
            engine.on_finished(lambda record: replica.finished.append(record.id))
            engine.on_deleted(lambda record: replica.deleted.append(record.id))
            stack.push_async_callback(engine.close, grace=0)
            return replica

        yield make


async def until(condition: Callable[[], bool] | Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``condition`` (at most every 10 ms) until true, failing after ``DEADLINE``."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = condition()
        if result if isinstance(result, bool) else await result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


async def stage_of(store: RedisStore, task_id: str) -> tuple[TaskStatus, TaskStage] | None:
    record = await store.get_task(task_id)
    return None if record is None else (record.status, record.stage)


async def freeze(replica: Replica) -> None:
    """The replica stops renewing its claims (paused, partitioned) but its runners go on."""
    await replica.engine.ownership.stop(release=False)


async def kill(replica: Replica) -> None:
    """The replica dies: no more renewals, its runners gone, nothing released or written."""
    await freeze(replica)
    replica.engine._closing = True  # a dead process releases nothing
    for runner in list(replica.engine._running.values()):
        runner.cancel()
    await until(lambda: replica.engine.running == 0, "the killed runners are gone")


async def test_two_replicas_starting_at_once_resume_each_task_exactly_once(replicas: Replicas) -> None:
    flow = FakeFlow()
    a, b = await replicas(flow), await replicas(flow)
    ids = [f"video_{i}" for i in range(30)]
    await a.store.put_tasks([video(i, TaskStage.GENERATING) for i in ids])
    resumed = await asyncio.gather(a.engine.start(), b.engine.start())
    assert sum(resumed) == len(ids)
    ran = [task_id for replica in (a, b) for task_id, _ in replica.runner.runs]
    assert sorted(ran) == sorted(ids)  # each once, by one of them
    assert a.engine.ownership.held.isdisjoint(b.engine.ownership.held)
    for task_id in ids:
        flow.jobs_done[task_id].set()
    await until(lambda: len(a.finished) + len(b.finished) == len(ids), "every task completed")
    assert sorted(a.finished + b.finished) == sorted(ids)
    assert not flow.submits  # resumed with a job: polled, never submitted


async def test_a_silent_replicas_video_is_taken_over_and_completed_with_one_submit(
    replicas: Replicas,
) -> None:
    flow = FakeFlow()
    flow.open_queue.set()
    a, b = await replicas(flow, ttl=0.6), await replicas(flow, ttl=0.6)
    await a.engine.start()
    await b.engine.start()
    await a.engine.create(video("video_1"))
    await until(lambda: a.engine.live_counts() == {("video", "generating"): 1}, "a submitted it")
    await freeze(a)  # a's runner still polls, but a renews nothing any more
    await until(lambda: b.engine.ownership.taken_over == 1, "b took it over")
    assert b.runner.runs == [("video_1", TaskStage.GENERATING)]  # resumed polling
    flow.jobs_done["video_1"].set()  # both runners see the job finish; only b may write it
    await until(lambda: b.finished == ["video_1"], "b completed it")
    await until(lambda: a.engine.running == 0, "a's runner stopped")
    assert a.finished == []  # a's completing write was refused: its claim is b's
    assert flow.submits == {"video_1": 1}
    assert await stage_of(a.store, "video_1") == (TaskStatus.COMPLETED, TaskStage.DONE)
    assert a.engine.ownership.held == set() and b.engine.ownership.held == set()


async def test_a_crashed_replicas_task_caught_mid_submit_is_failed_not_resubmitted(
    replicas: Replicas,
) -> None:
    flow = FakeFlow(hang_submit=True)
    flow.open_queue.set()
    a, b = await replicas(flow, ttl=0.6), await replicas(flow, ttl=0.6)
    await a.engine.start()
    await b.engine.start()
    await a.engine.create(video("video_1"))
    await asyncio.wait_for(flow.in_submit.wait(), DEADLINE)  # submitting is written: then a dies
    await kill(a)
    await until(lambda: b.finished == ["video_1"], "b ended it")
    assert b.runner.runs == [("video_1", TaskStage.SUBMITTING)]
    record = await b.store.get_task("video_1")
    assert record is not None and record.status is TaskStatus.FAILED and record.error_code == "interrupted"
    assert flow.submits == {}  # a never got the submit out, and b did not send it again


async def test_a_graceful_shutdown_hands_its_tasks_over_at_once(replicas: Replicas) -> None:
    flow = FakeFlow()
    flow.open_queue.set()
    a, b = await replicas(flow, ttl=60.0), await replicas(flow, ttl=60.0)  # expiry cannot explain it
    await a.engine.start()
    await b.engine.start()
    await a.engine.create(video("video_1"))
    await until(lambda: a.engine.live_counts() == {("video", "generating"): 1}, "a submitted it")
    await a.engine.close(grace=0)  # released, and the others told
    await until(lambda: b.engine.ownership.taken_over == 1, "b took it over")
    flow.jobs_done["video_1"].set()
    await until(lambda: b.finished == ["video_1"], "b completed it")
    assert flow.submits == {"video_1": 1}


async def test_a_queued_task_is_cancelled_through_the_other_replica(replicas: Replicas) -> None:
    flow = FakeFlow()
    a, b = await replicas(flow), await replicas(flow)
    await a.engine.start()
    await b.engine.start()
    await a.engine.create(video("video_1"))
    await until(lambda: a.runner.runs == [("video_1", TaskStage.QUEUED)], "a runs it")
    cancelled = await b.engine.cancel("video_1", reason="changed my mind")
    assert (cancelled.status, cancelled.error_code) == (TaskStatus.FAILED, "cancelled")
    await until(lambda: a.engine.running == 0, "a's runner stopped")  # woken: its claim is gone
    flow.open_queue.set()  # had a's runner lived on, it would now write submitting and submit
    assert await stage_of(a.store, "video_1") == (TaskStatus.FAILED, TaskStage.DONE)
    assert flow.submits == {} and b.finished == ["video_1"] and a.finished == []
    got = await a.engine.get("video_1", owner="lic", kind=Kind.VIDEO)
    assert got.error_code == "cancelled"


async def test_a_submitted_task_cannot_be_cancelled_through_the_other_replica(replicas: Replicas) -> None:
    flow = FakeFlow()
    flow.open_queue.set()
    a, b = await replicas(flow), await replicas(flow)
    await a.engine.start()
    await b.engine.start()
    await a.engine.create(video("video_1"))
    await until(lambda: a.engine.live_counts() == {("video", "generating"): 1}, "a submitted it")
    with pytest.raises(ConflictError):
        await b.engine.cancel("video_1", reason="too late")
    assert a.engine.running == 1 and a.engine.ownership.held == {"video_1"}  # a still runs it
    flow.jobs_done["video_1"].set()
    await until(lambda: a.finished == ["video_1"], "a completed it")


async def test_a_running_task_is_deleted_through_the_other_replica_and_never_comes_back(
    replicas: Replicas,
) -> None:
    flow = FakeFlow()
    flow.open_queue.set()
    a, b = await replicas(flow), await replicas(flow)
    await a.engine.start()
    await b.engine.start()
    await a.engine.create(video("video_1"))
    await until(lambda: a.engine.live_counts() == {("video", "generating"): 1}, "a submitted it")
    await b.engine.delete("video_1", owner="lic", kind=Kind.VIDEO)
    assert b.deleted == ["video_1"]  # told once, by the replica that deleted it
    await until(lambda: a.engine.running == 0, "a's runner stopped")
    flow.jobs_done["video_1"].set()
    assert await a.store.get_task("video_1") is None
    assert a.finished == [] and a.deleted == [] and a.engine.live_counts() == {}


async def test_a_lost_claim_refuses_the_write_and_stops_the_runner(replicas: Replicas) -> None:
    flow = FakeFlow()
    flow.open_queue.set()
    a, b = await replicas(flow), await replicas(flow)
    await a.engine.start()
    await a.engine.create(video("video_1"))
    await until(lambda: a.engine.live_counts() == {("video", "generating"): 1}, "a submitted it")
    await freeze(a)  # no renewal will notice: the refused write must
    claims = b.store.task_claims(ttl=30.0)
    assert await claims.seize("video_1")  # as a cancel or a delete elsewhere would
    flow.jobs_done["video_1"].set()
    await until(lambda: a.engine.running == 0, "a's runner stopped")
    assert await stage_of(a.store, "video_1") == (TaskStatus.IN_PROGRESS, TaskStage.GENERATING)
    assert a.finished == []


async def test_the_sweep_survives_redis_going_away_and_takes_over_when_it_is_back(
    replicas: Replicas, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "redis", keep_data=True)
    try:
        flow = FakeFlow()
        flow.open_queue.set()
        a, b = await replicas(flow, ttl=0.6, url=server.url), await replicas(flow, ttl=0.6, url=server.url)
        await a.engine.start()
        await b.engine.start()
        await a.engine.create(video("video_1"))
        await until(lambda: a.engine.live_counts() == {("video", "generating"): 1}, "a submitted it")
        await kill(a)
        server.stop()
        await until(lambda: b.engine.ownership._failing, "b's sweep met the outage")
        server.start()
        await until(lambda: b.engine.ownership.taken_over == 1, "b took it over once Redis was back")
        flow.jobs_done["video_1"].set()
        await until(lambda: b.finished == ["video_1"], "b completed it")
        assert flow.submits == {"video_1": 1}
    finally:
        server.stop()


async def test_a_finished_task_deleted_through_one_replica_is_gone_on_the_other(replicas: Replicas) -> None:
    flow = FakeFlow()
    flow.open_queue.set()
    a, b = await replicas(flow), await replicas(flow)
    await a.engine.start()
    await b.engine.start()
    await a.engine.create(video("video_1"))
    flow.jobs_done["video_1"].set()
    await until(lambda: a.finished == ["video_1"], "a completed it")
    assert (await a.engine.get("video_1", owner="lic", kind=Kind.VIDEO)).status is TaskStatus.COMPLETED
    await b.engine.delete("video_1", owner="lic", kind=Kind.VIDEO)
    with pytest.raises(NotFoundError):  # a kept no copy of it to answer from
        await a.engine.get("video_1", owner="lic", kind=Kind.VIDEO)


async def test_a_cancel_losing_the_task_to_another_replica_meanwhile_is_a_conflict(
    replicas: Replicas,
) -> None:
    flow = FakeFlow()
    a, b = await replicas(flow), await replicas(flow)
    await a.engine.start()
    await a.engine.create(video("video_1"))
    await until(lambda: a.runner.runs == [("video_1", TaskStage.QUEUED)], "a runs it")
    claims = b.store.task_claims(ttl=30.0)
    assert await claims.seize("video_1", stage=TaskStage.QUEUED)  # b's own cancel got there first
    with pytest.raises(ConflictError) as refused:  # a 409 to read again, not a 500
        await a.engine.cancel("video_1", reason="changed my mind")
    assert refused.value.code == "task_not_cancellable"
    assert await stage_of(a.store, "video_1") == (TaskStatus.QUEUED, TaskStage.QUEUED)  # a wrote nothing
    assert flow.submits == {}
