"""Who runs which task: a claim per unfinished task, held by the one gateway process running it.

A task's runner lives in one process. With one process (memory, SQLite) that process owns every
task and :class:`LocalTaskClaims` does no I/O. With several replicas on one Redis
(``store/redis_claims.py``) a claim is a key holding its replica's token, with an expiry the holder
renews: a replica that dies stops renewing and its tasks are claimed by another, which resumes them
as a restart would. Every write of a claimed task goes through :meth:`TaskClaims.write`, which
writes only tasks whose claim is still the writer's, in the same atomic step: a replica that lost a
task (taken over after it was away for longer than the expiry, cancelled or deleted through another
replica) can never write it again, so it never overwrites the new owner's state nor brings a deleted
task back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.domain import TaskRecord, TaskStage
from gateway.store.base import Store


class ClaimLostError(Exception):
    """A write of a task this process no longer holds was refused (the runner stops, writing nothing)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is no longer held by this gateway")
        self.task_id = task_id


class TaskClaims(Protocol):
    """Claims on unfinished tasks, and the writes of claimed tasks."""

    @property
    def shared(self) -> bool:
        """True when other processes hold claims too (then they need renewing and sweeping)."""
        ...

    @property
    def ttl(self) -> float:
        """Seconds a claim outlives its holder's last renewal."""
        ...

    async def claim_orphans(self, limit: int) -> tuple[list[TaskRecord], bool]:
        """Claim up to ``limit`` unfinished tasks nobody holds; those taken, as stored once taken
        (never an older version), and whether more were left."""
        ...

    async def write(
        self, records: Sequence[TaskRecord], *, new: bool = False, batch: bool = False
    ) -> set[str]:
        """Save tasks this process holds (``new``: claim them first, if nobody holds them; ``batch``:
        transitions written behind, together); a finished one's claim goes with its last write.
        Returns the ids refused: held by someone else, or by no one."""
        ...

    async def renew(self, task_ids: Sequence[str]) -> set[str]:
        """Extend these claims; returns the ids no longer held by this process (lost)."""
        ...

    async def release(self, task_ids: Sequence[str], *, announce: bool = False) -> None:
        """Give these claims up (those still held); ``announce``: wake the other processes' sweeps."""
        ...

    async def seize(self, task_id: str, *, stage: TaskStage | None = None) -> bool:
        """Take a stored task's claim from whoever holds it (to cancel or delete it here), if it is
        unfinished and at ``stage`` (when given); its holder's next write or renewal fails."""
        ...

    async def wait(self, seconds: float) -> bool:
        """Up to ``seconds``; True as soon as another process released or seized tasks."""
        ...


class LocalTaskClaims:
    """One process runs every task: each claim is granted, none is lost, nothing needs a sweep."""

    shared = False
    ttl = float("inf")

    def __init__(self, store: Store) -> None:
        self._store = store

    async def claim_orphans(self, limit: int) -> tuple[list[TaskRecord], bool]:
        """Every unfinished task (called once, at start: no other process runs any)."""
        del limit  # no one else claims: all are taken at once
        return await self._store.unfinished_tasks(), False

    async def write(
        self, records: Sequence[TaskRecord], *, new: bool = False, batch: bool = False
    ) -> set[str]:
        """Save them (the store's own calls: a batch in one transaction)."""
        del new
        if batch:
            await self._store.put_tasks(list(records))
        else:
            for record in records:
                await self._store.put_task(record)
        return set()

    async def renew(self, task_ids: Sequence[str]) -> set[str]:
        """Nothing to extend or lose."""
        del task_ids
        return set()

    async def release(self, task_ids: Sequence[str], *, announce: bool = False) -> None:
        """Nothing to give up."""
        del task_ids, announce

    async def seize(self, task_id: str, *, stage: TaskStage | None = None) -> bool:
        """False: a task not running in this process is not running anywhere."""
        del task_id, stage
        return False

    async def wait(self, seconds: float) -> bool:
        """Never called (nothing to sweep)."""
        del seconds
        return False
