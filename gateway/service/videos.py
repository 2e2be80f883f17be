"""Video orders: from what a client asked for to a durable task (create and remix).

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
from dataclasses import dataclass, replace

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
from gateway.service.inputs import ImageSource, InputResolver
from gateway.service.needs import video_needs
from gateway.service.tasks import TaskEngine

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
        if spec.video is not None and spec.video.extend:
            raise InvalidRequestError(
                "'extend' continues a finished video: POST /v1/videos/{id}/remix with it", param="model"
            )
        mode = mode_for(spec, len(order.sources))
        check_supported(spec, mode)
        if mode is not VideoMode.EXTEND:
            self._pool.check(want_of(spec, mode))
        return spec, mode

    async def create(self, order: VideoOrder) -> TaskRecord:
        """A queued video task (its inputs fetched and kept first)."""
        (record,) = await self.create_many(order, copies=1)
        return record

    async def create_many(self, order: VideoOrder, *, copies: int) -> list[TaskRecord]:
        """``copies`` queued tasks of one order (chat's ``n``), sharing the kept inputs."""
        spec, mode = self.resolve(order)
        inputs = []
        for source in order.sources:
            resolved = await self._resolver.resolve(source, owner=order.owner)
            inputs.append(await self._resolver.keep(resolved, owner=order.owner))
        records = []
        for _ in range(copies):
            record = self._record(order.owner, order.model, order.prompt, spec, mode, inputs=tuple(inputs))
            records.append(await self._engine.create(record))
        return records

    async def remix(
        self, source_id: str, *, owner: str, prompt: str, model: str | None, groups: tuple[str, ...]
    ) -> TaskRecord:
        """A new video from a finished one: the same inputs and a new prompt, or with ``extend`` its
        continuation (on the account that holds the source)."""
        source = await self._engine.get(source_id, owner=owner, kind=Kind.VIDEO)
        if source.status is not TaskStatus.COMPLETED:
            raise InvalidRequestError(
                f"video {source_id} is {source.status.value}; only a completed video can be remixed",
                param="video_id",
                code="video_not_ready",
            )
        name = model or str(source.order["model"])
        spec = self._catalog.resolve(
            name, groups=groups or tuple(str(source.order.get("groups") or "").split(","))
        )
        if spec.kind is not Kind.VIDEO:
            raise InvalidRequestError(f"{spec.model} is not a video model", param="model")
        if spec.video is not None and spec.video.extend:
            if source.model.startswith(OMNI_MODEL):
                raise InvalidRequestError(
                    "Flow extends only Veo videos; this one was made with Omni Flash", param="model"
                )
            extra: dict[str, str | int] = {
                "source_account": source.account_id,
                "source_seconds": int(str(source.order.get("seconds") or 8)),
            }
            record = self._record(owner, name, prompt, spec, VideoMode.EXTEND, extra=extra)
            generated = source.source_job or source.job
            record = replace(record, source_job=generated, remixed_from=source.id)
        else:
            mode = VideoMode(str(source.order["mode"]))
            check_supported(spec, mode)
            record = self._record(owner, name, prompt, spec, mode, inputs=source.inputs)
            record = replace(record, remixed_from=source.id)
        return await self._engine.create(record)

    def _record(  # noqa: PLR0913 - keyword-only parts of a new record
        self,
        owner: str,
        model: str,
        prompt: str,
        spec: GenerationSpec,
        mode: VideoMode,
        *,
        inputs: tuple[str, ...] = (),
        extra: dict[str, str | int] | None = None,
    ) -> TaskRecord:
        now = self._clock()
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
