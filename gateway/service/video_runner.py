"""One video task from queued to completed: lease, upload, submit, wait, upscale, download, store.

The runner holds its account's video slot for the whole job (Flow limits concurrent jobs per
account), persists every transition through ``save``, and never sends a submit twice: it is
retried on another account only after errors that prove nothing was created (the retry table's
``resend``), and a task a restart found in ``submitting`` is failed rather than resent. A resumed
task (``generating``, ``upscaling``, ``downloading``) continues on the account that holds its job.
Failures end the task with an OpenAI-style ``error`` (code and message), never an exception.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace

import structlog

from gateway.catalog import Catalog
from gateway.config import FlowSettings, TaskSettings
from gateway.domain import (
    AccountKind,
    Capability,
    GenerationSpec,
    TaskRecord,
    TaskStage,
    TaskStatus,
    Tier,
    UpstreamMedia,
    VideoMode,
    VideoResolution,
    VideoSpeed,
)
from gateway.errors import (
    BadGatewayError,
    ContentPolicyError,
    GatewayError,
    GatewayTimeoutError,
    InvalidRequestError,
    NoCapacityError,
    ServiceUnavailableError,
)
from gateway.media.storage import MediaStore
from gateway.obs.metrics import GatewayMetrics
from gateway.pool.policy import Outcome
from gateway.pool.pool import AccountPool, Lease, LeaseRequest
from gateway.service import refusals
from gateway.service.entitlement import credentials_of, ensure_entitled
from gateway.service.needs import video_needs
from gateway.service.poller import VideoPoller
from gateway.service.refusals import INCIDENT
from gateway.service.retry import decide
from gateway.service.video_followups import SOURCE_BOUND
from gateway.service.video_media import Fetching, VideoInputs, VideoKeeper
from gateway.service.videos import SIZES
from gateway.store.base import Store
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.transport import (
    FlowTransport,
    JobState,
    VideoJobStatus,
    VideoSubmission,
)

log = structlog.get_logger("gateway.service.videos")
Saver = Callable[[TaskRecord], Awaitable[None]]
FRIENDLY_REASONS = {
    "PUBLIC_ERROR_AUDIO_FILTERED": "Flow filtered the video's audio",
    "PUBLIC_ERROR_UNSAFE_GENERATION": "Flow's safety filter refused the video",
}


@dataclass(frozen=True, slots=True)
class VideoPlan:
    """A video task's order, resolved again from the catalogue (the stored model name is canonical)."""

    spec: GenerationSpec
    mode: VideoMode
    groups: frozenset[str]
    source_account: str
    source_seconds: int


class _Task:
    """The record being worked on, and the one way to change it (persisted at once)."""

    def __init__(self, record: TaskRecord, save: Saver, clock: Callable[[], float]) -> None:
        self.record = record
        self._save = save
        self._clock = clock

    async def set(self, **changes: object) -> None:
        self.record = replace(self.record, updated_at=self._clock(), **changes)  # type: ignore[arg-type]
        await self._save(self.record)


def plan_of(catalog: Catalog, record: TaskRecord) -> VideoPlan:
    """The plan a record's order describes."""
    order = record.order
    groups = tuple(g for g in str(order.get("groups") or "").split(",") if g)
    spec = catalog.resolve(str(order["model"]), groups=groups)
    return VideoPlan(
        spec,
        VideoMode(str(order["mode"])),
        frozenset(spec.groups),
        str(order.get("source_account") or ""),
        int(order.get("source_seconds") or 8),
    )


class VideoRunner:
    """Runs (and resumes) video tasks."""

    def __init__(  # noqa: PLR0913 - the composition root passes each collaborator by name
        self,
        *,
        catalog: Catalog,
        pool: AccountPool,
        transports: Mapping[AccountKind, FlowTransport],
        poller: VideoPoller,
        media: MediaStore,
        store: Store,
        settings: TaskSettings,
        flow: FlowSettings,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalog, self._pool, self._transports = catalog, pool, transports
        self._poller, self._media, self._store = poller, media, store
        self._keeper = VideoKeeper(media, store)
        self._inputs = VideoInputs(media, store)
        self._settings, self._flow, self._metrics, self._clock = settings, flow, metrics, clock

    async def run(self, record: TaskRecord, save: Saver) -> None:
        """Take the task as far as it goes; it always ends completed or failed (unless cancelled)."""
        task = _Task(record, save, self._clock)
        try:
            if record.stage is TaskStage.SUBMITTING:
                raise ServiceUnavailableError(
                    "the gateway restarted while submitting this video; it was not sent again so that it is "
                    "not charged twice: create it again",
                    code="interrupted",
                )
            if record.stage is TaskStage.QUEUED:
                await self._fresh(task)
            else:
                await self._resume(task)
        except GatewayError as exc:
            await self._fail(task, exc)

    async def _fail(self, task: _Task, exc: GatewayError) -> None:
        log.info("video_failed", task=task.record.id, code=exc.code, account=task.record.account_id)
        await task.set(status=TaskStatus.FAILED, error_code=exc.code, error_message=exc.message)

    # --- a fresh task -----------------------------------------------------------------------

    async def _fresh(self, task: _Task) -> None:
        plan = plan_of(self._catalog, task.record)
        exclude: set[str] = set()
        last: up.UpstreamError | None = None
        for attempt in range(1, self._flow.max_attempts + 1):
            async with AsyncExitStack() as stack:
                try:
                    lease = await self._lease(stack, plan, task, exclude)
                except GatewayError as exc:
                    if last is None or exc.code == INCIDENT:
                        raise
                    raise decide(last).to_client(last) from None
                try:
                    job = await self._submit(task, plan, lease)
                except up.UpstreamError as exc:
                    last = exc
                    if not self._retry_submit(lease, exc, exclude, attempt=attempt):
                        raise decide(exc).to_client(exc) from None
                    await task.set(stage=TaskStage.QUEUED)  # nothing was created: safe to send again
                    continue
                await self._finish(task, plan, lease, job)
                return
        assert last is not None
        raise decide(last).to_client(last)

    async def _lease(self, stack: AsyncExitStack, plan: VideoPlan, task: _Task, exclude: set[str]) -> Lease:
        """A video slot: on the source's account for an extend, else the best capable account; a
        background task waits (``queue_timeout``) where a request would get a 429."""
        spec = plan.spec
        want = LeaseRequest(
            Capability.VIDEO,
            spec.tier,
            plan.groups,
            frozenset(exclude),
            credits=spec.credits,
            feature=spec.feature,
            needs=video_needs(spec, plan.mode),
            priority=int(task.record.order.get("priority") or 0),  # the licence's, set at admission
        )
        deadline = task.record.created_at + self._settings.queue_timeout
        while True:
            try:
                if plan.mode in SOURCE_BOUND:  # Flow holds the source clip in that account only
                    if plan.source_account in exclude:
                        raise ServiceUnavailableError(
                            "the Flow account holding the source video cannot take this task",
                            code="source_refused",
                        )
                    return await stack.enter_async_context(
                        refusals.lease_on(self._pool, plan.source_account, Capability.VIDEO)
                    )
                return await stack.enter_async_context(refusals.lease(self._pool, want))
            except NoCapacityError as exc:
                pause = min(exc.retry_after or 1.0, 5.0)
                if self._clock() + pause > deadline:
                    raise
                await asyncio.sleep(pause)

    def _retry_submit(self, lease: Lease, exc: up.UpstreamError, exclude: set[str], *, attempt: int) -> bool:
        decision = decide(exc)
        lease.report(decision.outcome, retry_after=exc.retry_after, error=type(exc).__name__)
        log.warning(
            "video_submit_failed", account=lease.account.id, error=type(exc).__name__, attempt=attempt
        )
        if decision.elsewhere:
            exclude.add(lease.account.id)
        return decision.retry and decision.resend and attempt < self._flow.max_attempts

    async def _submit(self, task: _Task, plan: VideoPlan, lease: Lease) -> UpstreamMedia:
        account = lease.account
        creds, transport = credentials_of(account), self._transports[account.kind]
        await ensure_entitled(
            self._pool, account, transport, plan.spec, ttl=self._flow.credits_ttl, now=self._clock()
        )
        images = tuple([await self._inputs.held(account.id, creds, transport, m) for m in task.record.inputs])
        video = plan.spec.video
        assert video is not None
        submission = VideoSubmission(
            plan.mode,
            task.record.prompt,
            plan.spec.aspect,
            video.speed,
            video.seconds,
            seed=secrets.randbelow(99_999) + 1,
            ultra=account.tier is Tier.ULTRA,
            images=images,
            source=task.record.source_job if plan.mode in SOURCE_BOUND else None,
            source_seconds=plan.source_seconds,
            family=plan.spec.upstream_model,
        )
        # Persisted before the call: a restart inside this window must not send it again.
        await task.set(stage=TaskStage.SUBMITTING, account_id=account.id, attempts=task.record.attempts + 1)
        try:
            submitted = await transport.submit_video(creds, submission)
        except (up.UpstreamNotFoundError, up.UpstreamInvalidRequestError) as exc:
            if plan.mode in SOURCE_BOUND:  # the clip it continues or edits is gone from Flow
                raise InvalidRequestError(
                    f"Flow no longer holds the video this {plan.mode.value}s (its project is gone); start "
                    "from a newer video, or create this one again",
                    param="video_id",
                    code="source_unavailable",
                ) from exc
            if not images or not isinstance(exc, up.UpstreamNotFoundError):
                raise
            # An input Flow held is gone (its project was renewed): upload our own copies, once.
            fresh = tuple([await self._inputs.send(creds, transport, m) for m in task.record.inputs])
            submitted = await transport.submit_video(creds, replace(submission, images=fresh))
        if submitted.remaining_credits is not None:
            self._pool.table.note_credits(account.id, submitted.remaining_credits)
        else:
            self._pool.table.spend(account.id, plan.spec.credits)
        await task.set(
            status=TaskStatus.IN_PROGRESS,
            stage=TaskStage.GENERATING,
            job=submitted.media,
            submitted_at=self._clock(),
        )
        log.info("video_submitted", task=task.record.id, account=account.id, mode=plan.mode.value)
        return submitted.media

    # --- after the submit -------------------------------------------------------------------

    async def _resume(self, task: _Task) -> None:
        plan = plan_of(self._catalog, task.record)
        job = task.record.job
        if job is None:
            raise BadGatewayError("the task lost its upstream job", code="interrupted")
        async with self._pool.hold(task.record.account_id, Capability.VIDEO) as lease:
            if lease is None:
                raise ServiceUnavailableError(
                    "the Flow account holding this video left the pool", code="account_removed"
                )
            log.info("video_resumed", task=task.record.id, stage=task.record.stage.value)
            await self._finish(task, plan, lease, task.record.source_job or job, resumed=task.record.stage)

    async def _finish(
        self,
        task: _Task,
        plan: VideoPlan,
        lease: Lease,
        generated: UpstreamMedia,
        *,
        resumed: TaskStage = TaskStage.GENERATING,
    ) -> None:
        """Wait for the generation, upscale when asked, download, store, report (from ``resumed`` on)."""
        started = time.monotonic()
        video = plan.spec.video
        if resumed is TaskStage.GENERATING:
            relaxed = video is not None and video.speed is VideoSpeed.RELAXED
            limit = self._settings.relaxed_deadline if relaxed else self._settings.video_deadline
            await self._wait(task, lease, generated, deadline=task.record.submitted_at + limit)
        final = generated
        if resumed is TaskStage.DOWNLOADING:
            final = task.record.job or generated
        elif video is not None and video.resolution is not VideoResolution.SD:
            final = await self._upscale(task, plan, lease, generated)
        await self._download(task, lease, final)
        lease.report(Outcome.SUCCESS, credits=plan.spec.credits)
        await task.set(
            status=TaskStatus.COMPLETED, stage=TaskStage.DONE, progress=100, completed_at=self._clock()
        )
        if self._metrics is not None:
            self._metrics.observe_generation("video", time.monotonic() - started)
        log.info("video_completed", task=task.record.id, account=lease.account.id)

    async def _wait(
        self, task: _Task, lease: Lease, job: UpstreamMedia, *, deadline: float
    ) -> VideoJobStatus:
        remaining = max(0.0, deadline - self._clock())
        try:
            async with asyncio.timeout(remaining):
                status = await self._poller.wait(credentials_of(lease.account), lease.account.kind, job)
        except TimeoutError:
            lease.report(Outcome.TRANSIENT, error="UpstreamTimeoutError")
            raise GatewayTimeoutError("Flow did not finish the video in time") from None
        except up.UpstreamError as exc:
            lease.report(decide(exc).outcome, error=type(exc).__name__)
            raise decide(exc).to_client(exc) from None
        if status.state is JobState.FAILED:
            raise self._job_failed(lease, status)
        return status

    def _job_failed(self, lease: Lease, status: VideoJobStatus) -> GatewayError:
        """A job Flow marked FAILED: content refusals as such, anything else as an upstream failure."""
        reason = status.reason or "PUBLIC_ERROR_UNKNOWN"
        error = up.classify_rpc(13, (reason,), endpoint="video.job")
        lease.report(decide(error).outcome, error=reason)
        text = f"{FRIENDLY_REASONS.get(reason, 'Flow failed the video')} ({reason})"
        if isinstance(error, up.UpstreamContentRejectedError):
            return ContentPolicyError(text, param="prompt")
        return BadGatewayError(text, code="video_failed")

    async def _upscale(
        self, task: _Task, plan: VideoPlan, lease: Lease, generated: UpstreamMedia
    ) -> UpstreamMedia:
        """1080p or 4K on the same account (resumed: the upscale already under way); if the upscale
        fails, the generated video is kept and the task says so."""
        video = plan.spec.video
        assert video is not None
        try:
            if task.record.stage is TaskStage.UPSCALING and task.record.job not in (None, generated):
                job = task.record.job
            else:
                creds, transport = credentials_of(lease.account), self._transports[lease.account.kind]
                submitted = await transport.upscale_video(
                    creds, generated, video.resolution, plan.spec.aspect
                )
                job = submitted.media
                await task.set(stage=TaskStage.UPSCALING, source_job=generated, job=job)
            deadline = task.record.updated_at + self._settings.upscale_deadline
            await self._wait(task, lease, job, deadline=deadline)
        except (up.UpstreamError, GatewayError) as exc:
            log.warning("video_upscale_failed", task=task.record.id, error=type(exc).__name__)
            notice = f"the upscale to {video.resolution.value} failed; this is the generated video"
            order = {**task.record.order, "size": SIZES[(plan.spec.aspect, VideoResolution.SD)]}
            await task.set(source_job=generated, job=generated, error_message=notice, order=order)
            return generated
        assert job is not None
        return job

    async def _download(self, task: _Task, lease: Lease, job: UpstreamMedia) -> None:
        await task.set(stage=TaskStage.DOWNLOADING)
        settings = self._settings
        retry = Fetching(settings.link_attempts, settings.link_delay, max_backoff=settings.max_poll_backoff)
        video_id, poster = await self._keeper.fetch(
            self._transports[lease.account.kind],
            credentials_of(lease.account),
            job,
            owner=task.record.owner,
            account_id=lease.account.id,
            retry=retry,
        )
        await task.set(results=(video_id,), poster=poster)
