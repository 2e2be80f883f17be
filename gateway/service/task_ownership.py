"""The tasks this replica runs, kept its own, and the sweep that takes over other replicas' tasks.

With claims shared between replicas (Redis), a loop renews every claim held, one script per round
(``claim_ttl / 3`` apart, so two rounds may fail before a claim can expire), hands the engine the
ids whose claim was lost (another replica holds them now: their runners stop without writing), then
claims unfinished tasks nobody holds and hands them to the engine to resume, as a restart would. A
replica that stops releases its claims and says so, waking the others' loops at once; one that
crashed is taken over once its claims expire. The loop survives Redis going away: it logs, and
tries again the next round (the claims it could not renew may be lost meanwhile, and are then
stopped here). With local claims (one process) there is no loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from gateway.domain import TaskRecord
from gateway.store.task_claims import TaskClaims

log = structlog.get_logger("gateway.service.tasks")
CLAIM_BATCH = 100  # orphans claimed per script: a dead replica's tasks spread over the others
ROUNDS_PER_TTL = 3  # renewals per claim_ttl


class TaskOwnership:
    """The claims held here, their renewal, and the sweep for orphaned tasks."""

    def __init__(
        self,
        claims: TaskClaims,
        *,
        resume: Callable[[TaskRecord], None],
        lose: Callable[[set[str]], None],
    ) -> None:
        self._claims, self._resume, self._lose = claims, resume, lose
        self.held: set[str] = set()
        self.taken_over = 0  # tasks claimed from a replica that went away (after the start)
        self.lost = 0  # claims another replica holds now
        self._taking = True
        self._loop: asyncio.Task[None] | None = None
        self._failing = False

    async def claim_all(self) -> list[TaskRecord]:
        """Claim every unfinished task nobody holds (at start); those taken."""
        taken, more = await self._claims.claim_orphans(CLAIM_BATCH)
        while more:
            batch, more = await self._claims.claim_orphans(CLAIM_BATCH)
            taken += batch
        self.held.update(r.id for r in taken)
        return taken

    def hold(self, task_id: str) -> None:
        """A task claimed here (created, seized)."""
        self.held.add(task_id)

    def drop(self, task_id: str) -> None:
        """A task no longer held here (finished, deleted, lost): not renewed any more."""
        self.held.discard(task_id)

    def start(self) -> None:
        """Renew and sweep in the background (shared claims only)."""
        if self._claims.shared:
            self._loop = asyncio.create_task(self._run(), name="tasks:ownership")

    def taking(self) -> bool:
        """False once shutting down: orphans are left to the other replicas."""
        return self._taking

    def stop_taking(self) -> None:
        """Claim no more orphans (shutting down); renewals go on until :meth:`stop`."""
        self._taking = False

    async def stop(self, *, release: bool) -> None:
        """Stop the loop; ``release``: give up every claim held and wake the other replicas."""
        self._taking = False
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
        held, self.held = list(self.held), set()
        if release and held:
            try:
                await self._claims.release(held, announce=True)
            except OSError:  # Redis away: the claims expire by themselves, a little later
                log.warning("task_claims_not_released", tasks=len(held))

    async def round(self) -> None:
        """Renew what is held, stop what was lost, take over what nobody holds."""
        held = list(self.held)
        lost = await self._claims.renew(held) & self.held  # one finished meanwhile is not lost
        if lost:
            self.lost += len(lost)
            self.held -= lost
            self._lose(lost)
        more = self.taking()
        while more and self.taking():
            taken, more = await self._claims.claim_orphans(CLAIM_BATCH)
            if not self.taking():  # shutting down meanwhile: not started here, given back at once
                await self._claims.release([r.id for r in taken], announce=True)
                return
            for record in taken:
                log.warning("task_taken_over", task=record.id, stage=record.stage.value)
                self.held.add(record.id)
                self.taken_over += 1
                self._resume(record)

    async def _run(self) -> None:
        period = self._claims.ttl / ROUNDS_PER_TTL
        while True:
            try:
                await self._claims.wait(period)
            except OSError:  # the store closed under the loop: a plain sleep, never a busy loop
                await asyncio.sleep(period)
            try:
                await self.round()
            except OSError as exc:  # StoreUnavailableError is one: try again next round
                if not self._failing:
                    log.warning("task_claims_unavailable", error=type(exc).__name__)
                self._failing = True
                continue
            if self._failing:
                log.info("task_claims_available")
                self._failing = False
