"""The task engine with fake runners: create and run, owner isolation, watch, delete, resume,
a crashing runner, shutdown waiting for a submit to land; and the progress estimate."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.config import TaskSettings
from gateway.domain import Kind, TaskRecord, TaskStage, TaskStatus
from gateway.errors import NotFoundError
from gateway.media.storage import DiskMediaStore
from gateway.service.progress import estimate
from gateway.service.tasks import Saver, TaskEngine
from gateway.store.base import TaskQuery
from gateway.store.memory import MemoryStore


def task(
    task_id: str, *, owner: str = "lic", stage: TaskStage = TaskStage.QUEUED, at: float = 1.0
) -> TaskRecord:
    return TaskRecord(task_id, owner, Kind.VIDEO, "veo_3_1", "p", TaskStatus.QUEUED, stage, at, at)


class StepRunner:
    """Moves a task through in_progress to completed, one step per ``go`` set."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.seen: list[str] = []

    async def run(self, record: TaskRecord, save: Saver) -> None:
        self.seen.append(record.id)
        record = replace(record, status=TaskStatus.IN_PROGRESS, stage=TaskStage.GENERATING)
        await save(record)
        await self.go.wait()
        await save(replace(record, status=TaskStatus.COMPLETED, stage=TaskStage.DONE))


@pytest.fixture
def engine_parts(tmp_path: Path) -> tuple[MemoryStore, DiskMediaStore]:
    return MemoryStore(), DiskMediaStore(tmp_path)


async def test_create_run_watch_and_isolation(engine_parts: tuple[MemoryStore, DiskMediaStore]) -> None:
    store, media = engine_parts
    runner = StepRunner()
    engine = TaskEngine(store=store, media=media, runners={Kind.VIDEO: runner})
    await engine.create(task("video_1"))
    seen: list[str] = []

    async def follow() -> None:
        async for record in engine.watch("video_1", every=0.05):
            seen.append(record.status.value)

    follower = asyncio.ensure_future(follow())
    await asyncio.sleep(0.1)
    assert (await engine.get("video_1", owner="lic", kind=Kind.VIDEO)).status is TaskStatus.IN_PROGRESS
    with pytest.raises(NotFoundError):
        await engine.get("video_1", owner="someone-else", kind=Kind.VIDEO)
    with pytest.raises(NotFoundError):
        await engine.get("video_1", owner="lic", kind=Kind.IMAGE)
    runner.go.set()
    await asyncio.wait_for(follower, 2)
    assert seen[-1] == "completed" and "in_progress" in seen
    assert (await store.get_task("video_1")).status is TaskStatus.COMPLETED  # type: ignore[union-attr]
    assert engine.running == 0


async def test_start_resumes_unfinished_tasks_and_lists_newest_first(
    engine_parts: tuple[MemoryStore, DiskMediaStore],
) -> None:
    store, media = engine_parts
    await store.put_task(task("video_old", at=1.0, stage=TaskStage.GENERATING))
    await store.put_task(replace(task("video_done", at=2.0), status=TaskStatus.COMPLETED))
    runner = StepRunner()
    engine = TaskEngine(store=store, media=media, runners={Kind.VIDEO: runner})
    assert await engine.start() == 1
    await asyncio.sleep(0)
    assert runner.seen == ["video_old"]
    records, more = await engine.list(TaskQuery(owner="lic", kind=Kind.VIDEO, limit=1))
    assert [r.id for r in records] == ["video_done"] and more
    runner.go.set()
    await engine.close()


async def test_delete_stops_the_runner_and_forgets_media(
    engine_parts: tuple[MemoryStore, DiskMediaStore],
) -> None:
    store, media = engine_parts
    stored = await media.put(b"\x00\x00\x00\x18ftypmp42", mime="video/mp4", prefix="vid")
    engine = TaskEngine(store=store, media=media, runners={Kind.VIDEO: StepRunner()})
    await engine.create(replace(task("video_1"), results=(stored.id,)))
    await asyncio.sleep(0.01)
    await engine.delete("video_1", owner="lic", kind=Kind.VIDEO)
    assert engine.running == 0 and await store.get_task("video_1") is None
    assert await media.read(stored.id) is None


class CrashingRunner:
    async def run(self, record: TaskRecord, save: Saver) -> None:
        raise RuntimeError("a bug")


async def test_a_crashing_runner_fails_its_task(engine_parts: tuple[MemoryStore, DiskMediaStore]) -> None:
    store, media = engine_parts
    engine = TaskEngine(store=store, media=media, runners={Kind.VIDEO: CrashingRunner()})
    await engine.create(task("video_1"))
    await asyncio.sleep(0.05)
    record = await store.get_task("video_1")
    assert record is not None and (record.status, record.error_code) == (TaskStatus.FAILED, "internal_error")
    assert "a bug" not in record.error_message  # internals stay in the log


class SlowSubmit:
    """Holds the submitting stage for a moment, then records the job (as a real submit would)."""

    async def run(self, record: TaskRecord, save: Saver) -> None:
        await save(replace(record, stage=TaskStage.SUBMITTING))
        await asyncio.sleep(0.2)
        await save(replace(record, stage=TaskStage.GENERATING, status=TaskStatus.IN_PROGRESS))
        await asyncio.sleep(3600)


async def test_shutdown_lets_a_submit_land_first(engine_parts: tuple[MemoryStore, DiskMediaStore]) -> None:
    store, media = engine_parts
    engine = TaskEngine(store=store, media=media, runners={Kind.VIDEO: SlowSubmit()})
    await engine.create(task("video_1"))
    await asyncio.sleep(0.01)
    await engine.close(grace=5)
    record = await store.get_task("video_1")
    assert record is not None and record.stage is TaskStage.GENERATING  # resumable, not "interrupted"


def test_progress_moves_with_time_and_never_reaches_100_early() -> None:
    settings = TaskSettings(expected_video_seconds=100)
    running = replace(task("v"), status=TaskStatus.IN_PROGRESS, stage=TaskStage.GENERATING, updated_at=0.0)
    values = [estimate(running, t, settings) for t in (0, 25, 50, 100, 1000)]
    assert values == sorted(values) and values[0] == 3 and values[-1] < 90
    assert estimate(replace(running, status=TaskStatus.COMPLETED), 0, settings) == 100
    assert estimate(replace(running, stage=TaskStage.DOWNLOADING), 0, settings) == 97


class CountingStore(MemoryStore):
    """Counts writes; ``fail`` makes the next batch write raise."""

    def __init__(self) -> None:
        super().__init__()
        self.singles = 0
        self.batches: list[list[str]] = []
        self.fail = 0
        self.batch_written = asyncio.Event()

    async def put_task(self, record: TaskRecord) -> None:
        self.singles += 1
        await super().put_task(record)

    async def put_tasks(self, records: list[TaskRecord]) -> None:
        if self.fail:
            self.fail -= 1
            raise OSError("disk full")
        self.batches.append([r.id for r in records])
        await super().put_tasks(records)
        self.batch_written.set()


def image(task_id: str) -> TaskRecord:
    return replace(task(task_id), kind=Kind.IMAGE, model="nano_banana")


async def _finished(engine: TaskEngine, task_id: str, kind: Kind = Kind.IMAGE) -> TaskRecord:
    async for record in engine.watch(task_id, every=5):
        if record.status.finished:
            return record
    raise AssertionError("the watch ended before the task finished")


async def test_image_transitions_are_written_behind_in_one_batch_and_read_from_memory(tmp_path: Path) -> None:
    store, runner = CountingStore(), StepRunner()
    engine = TaskEngine(
        store=store, media=DiskMediaStore(tmp_path), runners={Kind.IMAGE: runner}, write_delay=3600
    )
    for n in range(3):
        await engine.create(image(f"imgtask_{n}"))
    assert store.singles == 3  # creation is written before the caller hears of the task
    runner.go.set()
    for n in range(3):
        assert (await _finished(engine, f"imgtask_{n}")).status is TaskStatus.COMPLETED
    # Not in the store yet, yet every read sees the finished version.
    assert all(
        r.status is TaskStatus.QUEUED for r in [await store.get_task(f"imgtask_{n}") for n in range(3)]
    )  # type: ignore[union-attr]
    got = await engine.get("imgtask_1", owner="lic", kind=Kind.IMAGE)
    page, _ = await engine.list(TaskQuery(owner="lic", kind=Kind.IMAGE, limit=10))
    assert got.status is TaskStatus.COMPLETED and {r.status for r in page} == {TaskStatus.COMPLETED}
    await engine.close()  # shutdown writes what was held back, newest version per task, in one batch
    assert (
        store.singles == 3
        and len(store.batches) == 1
        and sorted(store.batches[0])
        == [
            "imgtask_0",
            "imgtask_1",
            "imgtask_2",
        ]
    )
    assert all(
        r.status is TaskStatus.COMPLETED for r in [await store.get_task(f"imgtask_{n}") for n in range(3)]
    )  # type: ignore[union-attr]


async def test_video_transitions_are_written_through(tmp_path: Path) -> None:
    store, runner = CountingStore(), StepRunner()
    engine = TaskEngine(
        store=store, media=DiskMediaStore(tmp_path), runners={Kind.VIDEO: runner}, write_delay=3600
    )
    await engine.create(task("video_1"))
    runner.go.set()
    await _finished(engine, "video_1", Kind.VIDEO)
    assert store.singles == 3 and store.batches == []
    assert (await store.get_task("video_1")).status is TaskStatus.COMPLETED  # type: ignore[union-attr]


async def test_a_task_deleted_before_its_write_does_not_come_back(tmp_path: Path) -> None:
    store, runner = CountingStore(), StepRunner()
    engine = TaskEngine(
        store=store, media=DiskMediaStore(tmp_path), runners={Kind.IMAGE: runner}, write_delay=3600
    )
    await engine.create(image("imgtask_1"))
    runner.go.set()
    await _finished(engine, "imgtask_1")
    await engine.delete("imgtask_1", owner="lic", kind=Kind.IMAGE)
    await engine.flush()
    assert await store.get_task("imgtask_1") is None
    with pytest.raises(NotFoundError):
        await engine.get("imgtask_1", owner="lic", kind=Kind.IMAGE)


async def test_a_failed_batch_is_kept_readable_and_written_later(tmp_path: Path) -> None:
    store, runner = CountingStore(), StepRunner()
    store.fail = 1
    engine = TaskEngine(
        store=store, media=DiskMediaStore(tmp_path), runners={Kind.IMAGE: runner}, write_delay=0.001
    )
    await engine.create(image("imgtask_1"))
    runner.go.set()
    await _finished(engine, "imgtask_1")
    await asyncio.wait_for(store.batch_written.wait(), 5)  # the writer tried again after the failure
    assert store.fail == 0
    assert (await store.get_task("imgtask_1")).status is TaskStatus.COMPLETED  # type: ignore[union-attr]
    await engine.close()


async def test_finished_tasks_are_read_from_memory_and_forgotten_when_deleted(tmp_path: Path) -> None:
    store, runner = CountingStore(), StepRunner()
    engine = TaskEngine(store=store, media=DiskMediaStore(tmp_path), runners={Kind.VIDEO: runner})
    await engine.create(task("video_1"))
    runner.go.set()
    await _finished(engine, "video_1", Kind.VIDEO)
    await store.delete_task("video_1")  # behind the engine's back: proves the read is from memory
    assert (await engine.get("video_1", owner="lic", kind=Kind.VIDEO)).status is TaskStatus.COMPLETED
    await store.put_task(replace(task("video_2"), status=TaskStatus.FAILED))  # finished before a restart
    assert (await engine.get("video_2", owner="lic", kind=Kind.VIDEO)).status is TaskStatus.FAILED
    await engine.delete("video_2", owner="lic", kind=Kind.VIDEO)
    with pytest.raises(NotFoundError):
        await engine.get("video_2", owner="lic", kind=Kind.VIDEO)


async def test_listeners_hear_each_task_end_once_and_a_broken_one_harms_nothing(tmp_path: Path) -> None:
    runner = StepRunner()
    engine = TaskEngine(store=MemoryStore(), media=DiskMediaStore(tmp_path), runners={Kind.VIDEO: runner})
    heard: list[tuple[str, str]] = []

    def broken(_: TaskRecord) -> None:
        raise RuntimeError("a listener's bug")

    engine.on_finished(broken)
    engine.on_finished(lambda record: heard.append((record.id, record.status.value)))
    await engine.create(task("video_1"))
    runner.go.set()
    assert (await _finished(engine, "video_1", Kind.VIDEO)).status is TaskStatus.COMPLETED
    assert heard == [("video_1", "completed")]
    await engine.keep(replace(task("video_2"), status=TaskStatus.COMPLETED))  # kept finished: no run ended
    assert heard == [("video_1", "completed")]
