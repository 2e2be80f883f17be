"""Asynchronous image orders (``?async=true``, and images generated for chat): a task per order.

The order's inputs are fetched and kept when the task is created (a bad URL is a 400 then, not a
failed task later); the runner generates through the same image service as a synchronous request.
Flow answers images synchronously, so there is nothing to resume: a task a restart interrupted is
run again from the start (images are cheap; a video never is, see ``video_runner``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import structlog

from gateway.domain import Capability, Kind, TaskRecord, TaskStage, TaskStatus
from gateway.errors import GatewayError
from gateway.pool.pool import AccountPool, LeaseRequest
from gateway.service import refusals
from gateway.service.generation import ImageResult
from gateway.service.images import ImageOrder, ImageRequests
from gateway.service.inputs import ImageSource, InputResolver
from gateway.service.quota.gate import OPEN, Gate
from gateway.service.tasks import Saver, TaskEngine
from gateway.service.videos import new_task_id

log = structlog.get_logger("gateway.service.image_tasks")


class ImageTasks:
    """Creates image tasks, and runs them (the engine's runner for ``Kind.IMAGE``)."""

    def __init__(
        self,
        *,
        images: ImageRequests,
        resolver: InputResolver,
        pool: AccountPool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._images = images
        self._resolver = resolver
        self._clock = clock

    async def create(
        self, engine: TaskEngine, order: ImageOrder, *, extra: dict[str, str] | None = None, gate: Gate = OPEN
    ) -> TaskRecord:
        """A queued image task for ``order`` (validated now: model, inputs)."""
        (record,) = await self.create_many(engine, order, copies=1, extra=extra, gate=gate)
        return record

    async def create_many(
        self,
        engine: TaskEngine,
        order: ImageOrder,
        *,
        copies: int,
        extra: dict[str, str] | None = None,
        gate: Gate = OPEN,
    ) -> list[TaskRecord]:
        """``copies`` queued tasks of one order (chat's ``n``), sharing the kept inputs; the licence's
        ``gate`` admits them first (before any input is fetched)."""
        spec = self._images.resolve(order)
        with await gate.admit(spec, copies=copies, count=order.n) as admission:
            want = LeaseRequest(Capability.IMAGE, spec.tier, frozenset(spec.groups), credits=spec.credits)
            refusals.check(self._pool, want)
            inputs = []
            for source in order.sources:
                resolved = await self._resolver.resolve(source, owner=order.owner)
                inputs.append(await self._resolver.keep(resolved, owner=order.owner))
            return [
                await engine.create(admission.claim(self._record(order, tuple(inputs), extra)))
                for _ in range(copies)
            ]

    def _record(self, order: ImageOrder, inputs: tuple[str, ...], extra: dict[str, str] | None) -> TaskRecord:
        now = self._clock()
        return TaskRecord(
            id=new_task_id("imgtask"),
            owner=order.owner,
            kind=Kind.IMAGE,
            model=order.model,
            prompt=order.prompt,
            status=TaskStatus.QUEUED,
            stage=TaskStage.QUEUED,
            created_at=now,
            updated_at=now,
            order={
                "n": order.n,
                "size": order.size,
                "quality": order.quality,
                "groups": ",".join(order.groups),
                **(extra or {}),
            },
            inputs=inputs,
        )

    async def keep(
        self,
        engine: TaskEngine,
        order: ImageOrder,
        results: list[ImageResult],
        *,
        task_id: str,
        extra: dict[str, str],
    ) -> TaskRecord:
        """A synchronous order's images kept as a completed task (its client left, or it can come
        back with the same ``Idempotency-Key``): ``GET /v1/images/{task_id}`` returns them."""
        now = self._clock()
        record = replace(
            self._record(order, (), extra),
            id=task_id,
            status=TaskStatus.COMPLETED,
            stage=TaskStage.DONE,
            progress=100,
            results=tuple(r.media.id for r in results),
            completed_at=now,
        )
        return await engine.keep(record)

    async def run(self, record: TaskRecord, save: Saver) -> None:
        """Generate the images; the task ends completed with their media ids, or failed."""
        record = replace(
            record, status=TaskStatus.IN_PROGRESS, stage=TaskStage.GENERATING, updated_at=self._clock()
        )
        await save(record)
        order = ImageOrder(
            model=record.model,
            prompt=record.prompt,
            owner=record.owner,
            n=int(record.order.get("n") or 1),
            size=_optional(record.order.get("size")),
            quality=_optional(record.order.get("quality")),
            sources=tuple(ImageSource(param="image", value=media_id) for media_id in record.inputs),
            groups=tuple(g for g in str(record.order.get("groups") or "").split(",") if g),
            priority=int(record.order.get("priority") or 0),
        )
        try:
            results = await self._images.run(order)
        except GatewayError as exc:
            await save(
                replace(record, status=TaskStatus.FAILED, error_code=exc.code, error_message=exc.message)
            )
            return
        await save(
            replace(
                record,
                status=TaskStatus.COMPLETED,
                stage=TaskStage.DONE,
                progress=100,
                results=tuple(r.media.id for r in results),
                account_id=results[0].account_id if results else "",
                completed_at=self._clock(),
                updated_at=self._clock(),
            )
        )


def _optional(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
