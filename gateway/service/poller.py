"""Batched status polls: one call per account and project answers every job waiting there.

Runners ``await poller.wait(...)`` for their job; one loop wakes every ``poll_interval`` seconds,
groups the due jobs by (account, project), asks each group's transport for up to ``poll_batch``
jobs per call, and resolves the waiters whose jobs finished or failed upstream. A failed poll backs
the batch off (doubling up to ``max_poll_backoff``) and never fails a job: the video is paid for, so
only Flow or the runner's deadline ends it. Waiters can come and go at any time; a cancelled waiter
simply stops being polled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from gateway.config import TaskSettings
from gateway.domain import AccountKind, UpstreamMedia
from gateway.upstream.flow.errors import UpstreamError, UpstreamWorkerGoneError
from gateway.upstream.flow.transport import FlowCredentials, FlowTransport, JobState, VideoJobStatus

log = structlog.get_logger("gateway.service.poller")
TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED})
GroupKey = tuple[str, str]


@dataclass(slots=True)
class _Watch:
    job: UpstreamMedia
    creds: FlowCredentials
    kind: AccountKind
    done: asyncio.Future[VideoJobStatus]
    next_at: float
    errors: int = 0
    state: JobState = JobState.PENDING


@dataclass(slots=True)
class PollStats:
    """What the poller did (metrics and tests)."""

    calls: int = 0
    jobs_asked: int = 0
    errors: int = 0
    watching: int = field(default=0)


class VideoPoller:
    """Watches upstream video jobs until they finish."""

    def __init__(
        self,
        transports: Mapping[AccountKind, FlowTransport],
        settings: TaskSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transports = transports
        self._settings = settings
        self._clock = clock
        self._groups: dict[GroupKey, dict[str, _Watch]] = {}
        self._wake = asyncio.Event()
        self.stats = PollStats()

    async def wait(
        self, creds: FlowCredentials, kind: AccountKind, job: UpstreamMedia, *, first_in: float | None = None
    ) -> VideoJobStatus:
        """The job's terminal status (succeeded or failed); poll errors only delay it."""
        future: asyncio.Future[VideoJobStatus] = asyncio.get_running_loop().create_future()
        delay = self._settings.poll_interval if first_in is None else first_in
        watch = _Watch(job, creds, kind, future, self._clock() + delay)
        group = self._groups.setdefault((creds.account_id, job.project_id), {})
        group[job.name] = watch
        self.stats.watching += 1
        self._wake.set()
        try:
            return await future
        finally:
            self.stats.watching -= 1
            if group.get(job.name) is watch:
                del group[job.name]
            if not group:
                self._groups.pop((creds.account_id, job.project_id), None)

    def state_of(self, account_id: str, job: UpstreamMedia) -> JobState | None:
        """The last polled state of a watched job."""
        watch = self._groups.get((account_id, job.project_id), {}).get(job.name)
        return watch.state if watch else None

    async def run(self) -> None:
        """Poll due jobs until cancelled."""
        while True:
            wait = self._next_due()
            self._wake.clear()
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                continue
            await self.poll_due()

    async def poll_due(self) -> int:
        """One round: every due job of every group, batched; returns the number of calls made."""
        # Jobs due within the next half interval ride along: jobs submitted close together then
        # share their calls instead of drifting into one call each.
        horizon = self._clock() + self._settings.poll_interval / 2
        rounds: list[list[_Watch]] = []
        size = max(1, self._settings.poll_batch)
        for group in list(self._groups.values()):
            due = [w for w in group.values() if w.next_at <= horizon and not w.done.done()]
            rounds.extend(due[i : i + size] for i in range(0, len(due), size))
        await asyncio.gather(*(self._poll(batch) for batch in rounds))
        return len(rounds)

    def _next_due(self) -> float:
        soonest = min(
            (w.next_at for group in self._groups.values() for w in group.values() if not w.done.done()),
            default=None,
        )
        return self._settings.poll_interval if soonest is None else max(0.0, soonest - self._clock())

    async def _poll(self, batch: list[_Watch]) -> None:
        first = batch[0]
        self.stats.calls += 1
        self.stats.jobs_asked += len(batch)
        try:
            states = await self._transports[first.kind].poll_videos(first.creds, [w.job for w in batch])
        except UpstreamError as exc:
            self.stats.errors += 1
            self._failed_round(batch, exc)
            return
        by_name = {s.media.name: s for s in states}
        next_at = self._clock() + self._settings.poll_interval
        for watch in batch:
            status = by_name.get(watch.job.name)
            watch.errors, watch.next_at = 0, next_at
            if status is None:
                continue
            watch.state = status.state
            if status.state in TERMINAL and not watch.done.done():
                watch.done.set_result(status)

    def _failed_round(self, batch: list[_Watch], exc: UpstreamError) -> None:
        log.warning(
            "video_poll_failed", account=batch[0].creds.account_id, error=type(exc).__name__, jobs=len(batch)
        )
        # A worker that went away may come back: the job goes on upstream meanwhile, so its absence
        # does not make the next poll wait longer (the runner's deadline still bounds the wait).
        strike = 0 if isinstance(exc, UpstreamWorkerGoneError) else 1
        for watch in batch:
            watch.errors += strike
            delay = self._settings.poll_interval * 2 ** max(0, watch.errors - 1)
            watch.next_at = self._clock() + min(self._settings.max_poll_backoff, delay)
