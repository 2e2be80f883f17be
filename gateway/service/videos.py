"""Video orders: from what a client asked for to a durable task (create; what is made from a finished
video, remix, extension and edit, is ``video_followups``).

Resolves the model (catalogue: parameters in the name, ``size``/``seconds``/``quality`` fields),
decides the mode from the images and ``fl`` (none: text; ``fl``: first, or first and last frame;
otherwise references: 1-3, or up to 7 for Omni Flash), refuses what Flow cannot do with the
parameter named, keeps the input images for the task (so a restart loses none), and hands the task
to the engine. Answers at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.catalog import Catalog
from gateway.domain import (
    Aspect,
    Capability,
    GenerationSpec,
    Kind,
    TaskRecord,
    TaskStage,
    TaskStatus,
    VideoMode,
    VideoOptions,
    VideoResolution,
)
from gateway.errors import InvalidRequestError
from gateway.pool.pool import AccountPool, LeaseRequest
from gateway.service import refusals
from gateway.service.inputs import ImageSource, InputResolver
from gateway.service.needs import video_needs
from gateway.service.quota.gate import OPEN, Gate
from gateway.service.tasks import TaskEngine
from gateway.service.webhooks import webhook_order

MAX_REFERENCES = 3
OMNI_REFERENCES = 7  # Omni Flash's r2v usages take up to 7 images (HTrJv capacity [21][2])
OMNI, OMNI_MODEL = "abra", "omni_flash"  # Flow's family of Omni Flash, and its public name
MAX_FRAMES = 2
# Pixel sizes of what Flow returns, for the Video object's ``size``.
SIZES = {
    (Aspect.PORTRAIT, VideoResolution.SD): "720x1280",
    (Aspect.LANDSCAPE, VideoResolution.SD): "1280x720",
    (Aspect.PORTRAIT, VideoResolution.HD): "1080x1920",
    (Aspect.LANDSCAPE, VideoResolution.HD): "1920x1080",
    (Aspect.PORTRAIT, VideoResolution.UHD): "2160x3840",
    (Aspect.LANDSCAPE, VideoResolution.UHD): "3840x2160",
}


@dataclass(frozen=True, slots=True)
class VideoOrder:
    """What a client ordered, as plain values."""

    model: str
    prompt: str
    owner: str
    seconds: str | int | None = None
    size: str | None = None
    quality: str | None = None
    sources: tuple[ImageSource, ...] = ()
    groups: tuple[str, ...] = ()
    webhook_url: str | None = None  # None: no webhook (a chat's task); "": the licence's URL


def new_task_id(prefix: str) -> str:
    """``video_`` (or another prefix) and 32 hex characters, like OpenAI's ids."""
    return f"{prefix}_{secrets.token_hex(16)}"


def video_size(spec: GenerationSpec) -> str:
    """The ``WxH`` of the video a spec produces."""
    video = spec.video or VideoOptions()
    return SIZES.get((spec.aspect, video.resolution), "720x1280")


def want_of(spec: GenerationSpec, mode: VideoMode) -> LeaseRequest:
    """What an account must be (and its catalogue offer) to serve a video of ``spec``."""
    return LeaseRequest(
        Capability.VIDEO,
        spec.tier,
        frozenset(spec.groups),
        credits=spec.credits,
        feature=spec.feature,
        needs=video_needs(spec, mode),
    )


def mode_for(spec: GenerationSpec, images: int) -> VideoMode:
    """Text, frames or references, from the image count and ``fl``; a 400 naming the param otherwise."""
    video = spec.video or VideoOptions()
    if video.frames:
        if not 1 <= images <= MAX_FRAMES:
            raise InvalidRequestError(
                f"'fl' takes a first frame, or a first and a last frame (1 or 2 images); got {images}",
                param="input_reference",
            )
        return VideoMode.START if images == 1 else VideoMode.START_END
    most = OMNI_REFERENCES if spec.upstream_model == OMNI else MAX_REFERENCES
    if images > most:
        raise InvalidRequestError(
            f"at most {most} reference images for {spec.model} (use 'fl' for first and last frames); "
            f"got {images}",
            param="input_reference",
        )
    return VideoMode.REFERENCES if images else VideoMode.TEXT


def check_supported(spec: GenerationSpec, mode: VideoMode) -> None:
    """Combinations Flow has no model for, refused by name instead of silently changed (Veo's
    reference-image keys are 8 s only, at every speed; Omni Flash's come in every length)."""
    video = spec.video or VideoOptions()
    if mode is VideoMode.REFERENCES and video.seconds != 8 and spec.upstream_model != OMNI:
        raise InvalidRequestError(
            f"{spec.model}'s reference-image videos are 8 seconds only", param="seconds"
        )


class VideoRequests:
    """Creates and remixes video tasks."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        resolver: InputResolver,
        engine: TaskEngine,
        pool: AccountPool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._catalog = catalog
        self._resolver = resolver
        self._engine = engine
        self._clock = clock

    def resolve(self, order: VideoOrder) -> tuple[GenerationSpec, VideoMode]:
        """The spec and mode of an order, or the 400 that explains why not (no I/O)."""
        spec = self._catalog.resolve(
            order.model, size=order.size, seconds=order.seconds, quality=order.quality, groups=order.groups
        )
        if spec.kind is not Kind.VIDEO:
            raise InvalidRequestError(
                f"{spec.model} is an image model; use /v1/images/generations or /v1/chat/completions",
                param="model",
            )
        if spec.video is not None and (spec.video.extend or spec.video.edit):
            task, route = ("extend", "extensions") if spec.video.extend else ("edit", "edits")
            raise InvalidRequestError(
                f"'{task}' makes a new video from a completed one: POST /v1/videos/{route} with its id",
                param="model",
            )
        mode = mode_for(spec, len(order.sources))
        check_supported(spec, mode)
        refusals.check(self._pool, want_of(spec, mode))
        return spec, mode

    async def create(self, order: VideoOrder, *, gate: Gate = OPEN) -> TaskRecord:
        """A queued video task (its inputs fetched and kept first)."""
        (record,) = await self.create_many(order, copies=1, gate=gate)
        return record

    async def create_many(self, order: VideoOrder, *, copies: int, gate: Gate = OPEN) -> list[TaskRecord]:
        """``copies`` queued tasks of one order (chat's ``n``), sharing the kept inputs; the licence's
        ``gate`` admits them first (before any input is fetched)."""
        spec, mode = self.resolve(order)
        with await gate.admit(spec, copies=copies) as admission:
            inputs = []
            for source in order.sources:
                resolved = await self._resolver.resolve(source, owner=order.owner)
                inputs.append(await self._resolver.keep(resolved, owner=order.owner))
            records = []
            for _ in range(copies):
                record = task_record(
                    order.owner,
                    order.model,
                    order.prompt,
                    spec,
                    mode,
                    now=self._clock(),
                    inputs=tuple(inputs),
                    extra=webhook_order(order.webhook_url),
                )
                records.append(await self._engine.create(admission.claim(record)))
            return records


def task_record(  # noqa: PLR0913 - keyword-only parts of a new record
    owner: str,
    model: str,
    prompt: str,
    spec: GenerationSpec,
    mode: VideoMode,
    *,
    now: float,
    inputs: tuple[str, ...] = (),
    extra: dict[str, str | int] | None = None,
) -> TaskRecord:
    """A queued video task of ``spec`` in ``mode`` (``extra``: more of the order, e.g. its source)."""
    video = spec.video or VideoOptions()
    order: dict[str, str | int | bool | None] = {
        "model": spec.name,
        "groups": ",".join(spec.groups),
        "mode": mode.value,
        "seconds": video.seconds,
        "size": video_size(spec),
        **(extra or {}),
    }
    return TaskRecord(
        id=new_task_id("video"),
        owner=owner,
        kind=Kind.VIDEO,
        model=model,
        prompt=prompt,
        status=TaskStatus.QUEUED,
        stage=TaskStage.QUEUED,
        created_at=now,
        updated_at=now,
        order=order,
        inputs=inputs,
    )
