"""The task engine: durable tasks (videos, asynchronous images) that outlive the request creating them.

A task is persisted before its runner starts and at every transition; running tasks are also held
in memory, so reads (``GET /v1/videos/{id}`` at the SDK's poll rate) never wait for the store or
call Flow. At start every unfinished task is resumed by its kind's runner; at shutdown runners
get a moment to leave the ``submitting`` window, then stop (their records say where to resume).

Ownership (``store/task_claims.py``, ``task_ownership.py``): a task runs in the one process that
claims it. With several replicas on Redis, ``start`` resumes only the tasks it claimed, a sweep takes
over those whose replica went away (resumed exactly as after a restart: a video caught in
``submitting`` is failed, never sent again), and every write goes through the claims, so a replica
that lost a task stops it without writing anything more. A cancel or delete reaching a replica that
does not run the task seizes its claim first: the runner elsewhere can write nothing after that.

Writes: a task's creation, every video transition and every ``submitting`` window are written
before the runner goes on (they hold what a restart needs: Flow's job ids, what was paid for). The
later transitions of an image task are written behind, ``write_delay`` late, newest version per task,
many tasks per transaction: a chat image otherwise pays three commits on its critical path. Until
written they are read from memory; a crash in that window re-runs the image task from its start.
Watchers (chat streams) receive each new version of a task. The engine decides nothing about how
a task runs: that is the runners' (``video_runner``, ``image_tasks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import structlog

from gateway.domain import Kind, TaskRecord, TaskStage, TaskStatus
from gateway.errors import ConflictError, NotFoundError
from gateway.media.storage import MediaStore
from gateway.service.task_ownership import TaskOwnership
from gateway.service.task_writes import TaskWrites
from gateway.store.base import Store, TaskQuery
from gateway.store.task_claims import ClaimLostError, LocalTaskClaims, TaskClaims

log = structlog.get_logger("gateway.service.tasks")
Saver = Callable[[TaskRecord], Awaitable[None]]
# Told once when a task ends (completed or failed): usage settlement, webhooks. Called inline, so
# it must not block; work it starts is its own.
Listener = Callable[[TaskRecord], None]
# Finished tasks kept in memory, newest used last (a client polls its result a few times, then
# fetches it): reads of them skip the store. About 1 KB each.
FINISHED_KEPT = 4096


class TaskRunner(Protocol):
    """Runs one kind of task to its end, saving each transition."""

    async def run(self, record: TaskRecord, save: Saver) -> None:
        """Run (or resume) ``record``."""
        ...


class TaskEngine:
    """Creates, runs, resumes, lists and forgets tasks."""

    def __init__(  # noqa: PLR0913 - the composition root passes each collaborator by name
        self,
        *,
        store: Store,
        media: MediaStore,
        runners: Mapping[Kind, TaskRunner],
        clock: Callable[[], float] = time.time,
        write_delay: float = 0.0,
        claims: TaskClaims | None = None,
    ) -> None:
        self._store = store
        self._claims = claims or LocalTaskClaims(store)
        self.ownership = TaskOwnership(self._claims, resume=self._resume, lose=self._lose)
        self._closing = False
        self._media = media
        self._runners = runners
        self._clock = clock
        self._live: dict[str, TaskRecord] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._watchers: dict[str, set[asyncio.Queue[TaskRecord]]] = {}
        self._saved = asyncio.Event()  # set at every save (shutdown waits on it for submits to land)
        self._writes = TaskWrites(self._claims, delay=write_delay, lose=self._lose, ended=self.ownership.drop)
        self._finished: OrderedDict[str, TaskRecord] = OrderedDict()
        # With replicas a finished task can be deleted through another one: none is kept here then.
        self._kept = 0 if self._claims.shared else FINISHED_KEPT
        self._listeners: list[Listener] = []
        self._deleted_listeners: list[Listener] = []

    @property
    def running(self) -> int:
        """Tasks with a runner now."""
        return len(self._running)

    def live_counts(self) -> dict[tuple[str, str], int]:
        """Unfinished tasks by (kind, stage), for metrics."""
        counts: dict[tuple[str, str], int] = {}
        for record in self._live.values():
            key = (record.kind.value, record.stage.value)
            counts[key] = counts.get(key, 0) + 1
        return counts

    async def start(self) -> int:
        """Resume every unfinished task nobody else runs (claimed first); returns how many."""
        unfinished = await self.ownership.claim_all()
        for record in unfinished:
            self._resume(record)
        self.ownership.start()
        log.info("tasks_resumed", tasks=len(unfinished))
        return len(unfinished)

    async def close(self, *, grace: float = 10.0) -> None:
        """Stop every runner, after letting those in the middle of a submit finish it; then give
        their claims up, so another replica resumes them at once."""
        self._closing = True
        self.ownership.stop_taking()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while any(r.stage is TaskStage.SUBMITTING for r in self._live.values()):
                    self._saved.clear()
                    await self._saved.wait()
        runners = list(self._running.values())
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        try:
            await self._writes.close()
        finally:  # the store refusing the last writes still stops the renewals (the claims expire)
            await self.ownership.stop(release=True)

    async def create(self, record: TaskRecord) -> TaskRecord:
        """Persist a new task (claimed with it) and start its runner."""
        await self._writes.now(record, new=True)
        self.ownership.hold(record.id)
        self._live[record.id] = record
        self._spawn(record)
        return record

    async def keep(self, record: TaskRecord) -> TaskRecord:
        """Persist a task that is already finished (a synchronous request kept for retrieval)."""
        self._writes.forget(record.id)
        self._remember(record)  # e.g. replacing a failed try under the same id
        async with self._writes.paused():
            await self._store.put_task(record)  # never claimed: nothing runs it
        return record

    async def get(self, task_id: str, *, owner: str, kind: Kind) -> TaskRecord:
        """A task of ``owner``; another licence's task, or one of another kind, is 404 as if unknown."""
        record = self._newest(task_id) or self._recall(task_id) or await self._stored(task_id)
        if record is None or record.owner != owner or record.kind is not kind:
            raise NotFoundError(f"No {kind.value} task found with id '{task_id}'.", param="id")
        return record

    async def list(self, query: TaskQuery) -> tuple[list[TaskRecord], bool]:
        """One page of an owner's tasks (running ones in their newest state)."""
        records, more = await self._store.list_tasks(query)
        return [self._newest(r.id) or r for r in records], more

    async def inspect(self, task_id: str) -> TaskRecord:
        """Any licence's task, in its newest state (the admin view)."""
        record = self._newest(task_id) or self._recall(task_id) or await self._stored(task_id)
        if record is None:
            raise NotFoundError(f"No task found with id '{task_id}'.", param="id")
        return record

    async def cancel(self, task_id: str, *, reason: str) -> TaskRecord:
        """Stop a task that has not been submitted to Flow yet, and fail it with ``cancelled``.

        Only a queued task can be cancelled: once its runner has written the ``submitting`` stage
        (always before it sends anything), Flow may have the job and may bill it, so stopping our
        side would only lose the result. The check and the runner's cancellation happen without an
        ``await`` between them, so the runner cannot move on in between; a runner cancelled while
        writing ``submitting`` never sends the submit (that comes after the write returns).

        A task another replica runs is seized first, only while it is stored as queued (one step in
        the store): that replica's runner can then no longer write ``submitting``, so never submits."""
        try:
            return await self._cancel(task_id, reason)
        except ClaimLostError:  # another replica seized it meanwhile (its own cancel, a delete)
            raise ConflictError(
                f"Task '{task_id}' changed while it was being cancelled; read it again.",
                code="task_not_cancellable",
                param="id",
            ) from None

    async def _cancel(self, task_id: str, reason: str) -> TaskRecord:
        record = await self.inspect(task_id)
        seized = task_id not in self._running and await self._claims.seize(task_id, stage=TaskStage.QUEUED)
        runner = self._running.get(task_id)
        live = self._live.get(task_id)
        if seized and runner is None:
            return await self._cancel_seized(task_id, reason)
        if live is None or runner is None or live.stage is not TaskStage.QUEUED:
            state = record.status.value if record.status.finished else record.stage.value
            raise ConflictError(
                f"Task '{task_id}' cannot be cancelled: it is {state} (only one not yet submitted can be).",
                code="task_not_cancellable",
                param="id",
            )
        del self._running[task_id]  # stopped by this cancel, not unfinished by accident (see _done)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await self._save(self._cancelled(self._live.get(task_id, live), reason))
        return await self.inspect(task_id)

    async def _cancel_seized(self, task_id: str, reason: str) -> TaskRecord:
        """Cancel a queued task seized from another replica (or from none): as stored now, it is ours."""
        stored = await self._store.get_task(task_id)
        if stored is None:  # deleted between the seize and this read
            raise NotFoundError(f"No task found with id '{task_id}'.", param="id")
        cancelled = self._cancelled(stored, reason)
        await self._write(cancelled)
        self._tell(self._listeners, cancelled)  # its runner elsewhere never ends it: it ends here
        return cancelled

    def _cancelled(self, record: TaskRecord, reason: str) -> TaskRecord:
        return replace(
            record,
            status=TaskStatus.FAILED,
            stage=TaskStage.DONE,
            error_code="cancelled",
            error_message=reason,
            updated_at=self._clock(),
        )

    async def delete(self, task_id: str, *, owner: str, kind: Kind) -> TaskRecord:
        """Forget a task and the media it produced (a running one stops being followed)."""
        record = await self.get(task_id, owner=owner, kind=kind)
        # Run by another replica: seized first, so its runner can write nothing after the delete.
        seized = task_id not in self._running and await self._claims.seize(task_id)
        stopped = await self._store.get_task(task_id) if seized else None  # as stored, now it is ours
        runner = self._running.pop(task_id, None)
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        stopped = self._live.pop(task_id, None) or stopped
        self._writes.forget(task_id)
        self._finished.pop(task_id, None)
        async with self._writes.paused():  # a batch holding it lands first, so the row does not come back
            await self._store.delete_task(task_id)
        if seized or runner is not None:
            self.ownership.drop(task_id)
            await self._claims.release([task_id])
        if stopped is not None:  # it was running here and will never end: say so (usage gives back)
            self._tell(self._deleted_listeners, stopped)
        for media_id in (*record.results, record.poster):
            if media_id:
                await self._media.delete(media_id)
                await self._store.delete_media(media_id)
        return record

    async def watch(self, task_id: str, *, every: float) -> AsyncIterator[TaskRecord]:
        """Each new version of a task until it finishes (or is deleted: then it just stops); the
        current one again after ``every`` seconds without a change (so a stream can send its
        keep-alive)."""
        queue: asyncio.Queue[TaskRecord] = asyncio.Queue()
        self._watchers.setdefault(task_id, set()).add(queue)
        try:
            current = self._newest(task_id) or await self._store.get_task(task_id)
            while current is not None:
                yield current
                if current.status.finished:
                    return
                try:
                    async with asyncio.timeout(every):
                        current = await queue.get()
                except TimeoutError:
                    if task_id not in self._live:  # no runner here any more: deleted, or finished meanwhile
                        current = self._writes.pending(task_id) or await self._store.get_task(task_id)
        finally:
            watchers = self._watchers.get(task_id, set())
            watchers.discard(queue)
            if not watchers:
                self._watchers.pop(task_id, None)

    def on_deleted(self, listener: Listener) -> None:
        """Call ``listener`` with each task deleted while it was running here (it never finishes)."""
        self._deleted_listeners.append(listener)

    def on_finished(self, listener: Listener) -> None:
        """Call ``listener`` with each task that ends in this process, once, after it is saved."""
        self._listeners.append(listener)

    async def flush(self) -> None:
        """Write every transition still held back (at shutdown; tests)."""
        await self._writes.flush()

    def _newest(self, task_id: str) -> TaskRecord | None:
        return self._live.get(task_id) or self._writes.pending(task_id)

    def _recall(self, task_id: str) -> TaskRecord | None:
        record = self._finished.get(task_id)
        if record is not None:
            self._finished.move_to_end(task_id)
        return record

    def _remember(self, record: TaskRecord) -> None:
        self._finished[record.id] = record
        self._finished.move_to_end(record.id)
        if len(self._finished) > self._kept:
            self._finished.popitem(last=False)

    async def _stored(self, task_id: str) -> TaskRecord | None:
        record = await self._store.get_task(task_id)
        if record is not None and record.status.finished:
            self._remember(record)  # a finished task no longer changes (deleting it forgets it here)
        return record

    async def _write(self, record: TaskRecord) -> None:
        """Write a claimed task now (``ClaimLostError``, having stopped it here, if it is not ours)."""
        self._finished.pop(record.id, None)
        await self._writes.now(record)
        if record.status.finished:
            self._remember(record)

    async def _save(self, record: TaskRecord) -> None:
        if self._writes.delay > 0 and record.kind is Kind.IMAGE and record.stage is not TaskStage.SUBMITTING:
            self._writes.behind(record)
        else:
            await self._write(record)
        if record.status.finished:
            ended = self._live.pop(record.id, None) is not None  # it was running here until now
            self._remember(record)
            if ended:
                self._tell(self._listeners, record)
        elif record.id in self._running:
            self._live[record.id] = record
        for queue in self._watchers.get(record.id, ()):
            queue.put_nowait(record)
        self._saved.set()

    def _tell(self, listeners: Sequence[Listener], record: TaskRecord) -> None:
        for listener in listeners:
            try:
                listener(record)
            except Exception:  # a listener's bug must not fail the task it hears about
                log.exception("task_listener_failed", task=record.id)

    def _resume(self, record: TaskRecord) -> None:
        """Run a task claimed here (at start, or taken over from another replica)."""
        if record.id not in self._running:
            self._live[record.id] = record
            self._spawn(record)

    def _lose(self, task_ids: set[str]) -> None:
        """Stop tasks another replica holds now, writing nothing more about them."""
        for task_id in task_ids:
            log.error("task_claim_lost", task=task_id)  # another replica runs it from its stored state
            self.ownership.drop(task_id)
            runner = self._running.pop(task_id, None)
            if runner is not None and runner is not asyncio.current_task():  # else: it raises
                runner.cancel()
            self._live.pop(task_id, None)
            self._writes.forget(task_id)

    def _spawn(self, record: TaskRecord) -> None:
        runner = self._runners[record.kind]
        task = asyncio.create_task(self._run(runner, record), name=f"task:{record.id}")
        self._running[record.id] = task
        task.add_done_callback(lambda done: self._done(record.id, done))

    async def _run(self, runner: TaskRunner, record: TaskRecord) -> None:
        structlog.contextvars.bind_contextvars(task_id=record.id)
        try:
            await runner.run(record, self._save)
        except ClaimLostError:
            return  # stopped by _lose: nothing more is written here
        except Exception:
            log.exception("task_runner_crashed", task=record.id)
            latest = self._live.get(record.id, record)
            await self._save(
                replace(
                    latest,
                    status=TaskStatus.FAILED,
                    error_code="internal_error",
                    error_message=f"the gateway failed this task (task id {record.id})",
                    updated_at=self._clock(),
                )
            )

    def _done(self, task_id: str, task: asyncio.Task[None]) -> None:
        if self._running.get(task_id) is not task:
            return
        del self._running[task_id]
        if task_id in self._live and not self._closing:  # it stopped unfinished (its last save failed)
            self._live.pop(task_id)
            self.ownership.drop(task_id)  # not renewed: once it expires, a sweep resumes it
