"""Videos made from a completed one: a remix (its inputs, a new prompt), an extension (Flow's Extend:
a continuation, Veo clips only) and an edit (Omni Flash's edit, ``abra_edit``: the clip reworked by a
prompt, keeping its length).

Flow knows a generated clip only in the account and project that made it, so an extension and an
edit run there (the runner leases that account). That account is checked before the task exists:
one gone from the pool, or whose known catalogue lacks the task, is a 4xx naming what is missing,
before any token or credit is spent. A remix of an extension or an edit is refused (it would re-run
a follow-up of a clip it does not hold): extend or edit again from the original instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from gateway.catalog import Catalog
from gateway.domain import (
    AccountKind,
    GenerationSpec,
    Kind,
    TaskRecord,
    TaskStatus,
    UpstreamMedia,
    VideoMode,
    VideoResolution,
)
from gateway.errors import InvalidRequestError, PermissionDeniedError
from gateway.pool.pool import AccountPool
from gateway.service import refusals
from gateway.service.needs import video_needs
from gateway.service.quota.gate import OPEN, Gate
from gateway.service.tasks import TaskEngine
from gateway.service.videos import OMNI, OMNI_MODEL, check_supported, task_record, video_size, want_of
from gateway.service.webhooks import webhook_order

SOURCE_BOUND = frozenset({VideoMode.EXTEND, VideoMode.EDIT})
# Flow's Extend (Veo 3.1 Lite) makes a 7 s clip holding only the continuation (a live run, October
# 2026; flow-evidence.md); 8 is accepted too, the nearest length OpenAI's SDK types let a client send.
EXTENSION_SECONDS = 7
EXTENSION_LENGTHS = frozenset({"7", "8"})
EDIT_MODEL = f"{OMNI_MODEL}-edit"
WHAT = {VideoMode.EXTEND: "Veo's extend", VideoMode.EDIT: "Omni Flash's video edit (Flow's abra_edit)"}


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What a client asked to make of a completed video; ``param`` names the source in errors."""

    source_id: str
    owner: str
    prompt: str
    model: str | None = None
    seconds: str | int | None = None
    groups: tuple[str, ...] = ()
    param: str = "video"
    gate: Gate = OPEN  # the licence's: admits (or refuses) the new video before its task exists
    webhook_url: str | None = None  # as ``VideoOrder.webhook_url``


def groups_of(record: TaskRecord) -> tuple[str, ...]:
    """The account groups a task was ordered with."""
    return tuple(g for g in str(record.order.get("groups") or "").split(",") if g)


def seconds_of(record: TaskRecord) -> int:
    """How long a finished video is."""
    return int(str(record.order.get("seconds") or 8))


def clip_of(record: TaskRecord, spec: GenerationSpec) -> UpstreamMedia | None:
    """The clip Flow generated for a video, before any upscale (an upscaled video keeps it as its
    ``source_job``; an extension or an edit keeps its own source there, and its clip is its ``job``)."""
    video = spec.video
    if video is None or video.resolution is VideoResolution.SD:
        return record.job
    return record.source_job or record.job


class VideoFollowUps:
    """Creates remixes, extensions and edits of completed videos."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        engine: TaskEngine,
        pool: AccountPool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalog, self._engine, self._pool, self._clock = catalog, engine, pool, clock

    async def remix(self, ask: FollowUp) -> TaskRecord:
        """The source's inputs and mode with a new prompt (a model naming ``extend`` or ``edit`` makes
        that follow-up instead, as ``remix`` did before the routes of their own existed)."""
        source = await self._completed(ask, "remixed")
        base = self._catalog.resolve(str(source.order["model"]))
        name = ask.model or str(source.order["model"])
        spec = self._video(name, base, ask.groups or groups_of(source))
        if spec.video is not None and spec.video.extend:
            return await self._extension(source, ask, spec, base)
        if spec.video is not None and spec.video.edit:
            return await self._edited(source, ask, spec, base)
        mode = VideoMode(str(source.order["mode"]))
        if mode in SOURCE_BOUND:
            raise InvalidRequestError(
                f"video {source.id} is an {mode.value} of another video; remix that one instead",
                param=ask.param,
            )
        check_supported(spec, mode)
        refusals.check(self._pool, want_of(spec, mode))
        record = task_record(ask.owner, name, ask.prompt, spec, mode, now=self._clock(), inputs=source.inputs)
        return await self._create(ask, spec, replace(record, remixed_from=source.id))

    async def extend(self, ask: FollowUp) -> TaskRecord:
        """A continuation of a completed Veo video (``/v1/videos/extensions``), at the speed the
        catalogue's ``extend_speed`` names unless ``model`` says otherwise."""
        if ask.seconds is not None and str(ask.seconds).strip().removesuffix("s") not in EXTENSION_LENGTHS:
            raise InvalidRequestError(
                f"Flow's extend adds a {EXTENSION_SECONDS}-second continuation: seconds must be "
                f"{EXTENSION_SECONDS} (or 8, the nearest value OpenAI's SDK allows); got {ask.seconds!r}",
                param="seconds",
                code="invalid_value",
            )
        source = await self._completed(ask, "extended")
        base = self._catalog.resolve(str(source.order["model"]))
        _refuse_omni(source, base, ask.param)
        spec = self._video(ask.model or base.model, base, ask.groups or groups_of(source))
        if spec.video is not None and not spec.video.extend:
            spec = self._video(f"{spec.name}-extend", base, spec.groups)
        return await self._extension(source, ask, spec, base)

    async def edit(self, ask: FollowUp) -> TaskRecord:
        """A completed video reworked by a prompt with Omni Flash (``/v1/videos/edits``)."""
        source = await self._completed(ask, "edited")
        base = self._catalog.resolve(str(source.order["model"]))
        spec = self._video(EDIT_MODEL, base, ask.groups or groups_of(source))
        return await self._edited(source, ask, spec, base)

    def _video(self, name: str, base: GenerationSpec, groups: tuple[str, ...]) -> GenerationSpec:
        """A video spec; an aspect the name leaves open is the source's."""
        spec = self._catalog.resolve(name, size=video_size(base), groups=groups)
        if spec.kind is not Kind.VIDEO:
            raise InvalidRequestError(f"{spec.model} is not a video model", param="model")
        return spec

    async def _extension(
        self, source: TaskRecord, ask: FollowUp, spec: GenerationSpec, base: GenerationSpec
    ) -> TaskRecord:
        _refuse_omni(source, base, ask.param)
        if spec.aspect is not base.aspect:  # Flow continues a clip in its own frame
            raise InvalidRequestError(
                f"an extension keeps its source's {base.aspect.value} aspect; {spec.name} asks for "
                f"{spec.aspect.value}",
                param="model",
            )
        self._check_holder(source, spec, VideoMode.EXTEND, ask.param)
        extra: dict[str, str | int] = {
            "source_account": source.account_id,
            "source_seconds": seconds_of(source),
            "seconds": EXTENSION_SECONDS,
        }
        record = task_record(
            ask.owner,
            ask.model or spec.name,
            ask.prompt,
            spec,
            VideoMode.EXTEND,
            now=self._clock(),
            extra=extra,
        )
        return await self._create(
            ask, spec, replace(record, source_job=clip_of(source, base), remixed_from=source.id)
        )

    async def _edited(
        self, source: TaskRecord, ask: FollowUp, spec: GenerationSpec, base: GenerationSpec
    ) -> TaskRecord:
        self._check_holder(source, spec, VideoMode.EDIT, ask.param)
        seconds = seconds_of(source)  # an edit keeps its source's length
        extra: dict[str, str | int] = {
            "source_account": source.account_id,
            "source_seconds": seconds,
            "seconds": seconds,
        }
        record = task_record(
            ask.owner, spec.name, ask.prompt, spec, VideoMode.EDIT, now=self._clock(), extra=extra
        )
        return await self._create(
            ask, spec, replace(record, source_job=clip_of(source, base), remixed_from=source.id)
        )

    async def _create(self, ask: FollowUp, spec: GenerationSpec, record: TaskRecord) -> TaskRecord:
        """The task, once the licence's gate admitted it (its reserved id, groups and priority)."""
        record = replace(record, order={**record.order, **webhook_order(ask.webhook_url)})
        with await ask.gate.admit(spec) as admission:
            return await self._engine.create(admission.claim(record))

    async def _completed(self, ask: FollowUp, verb: str) -> TaskRecord:
        source = await self._engine.get(ask.source_id, owner=ask.owner, kind=Kind.VIDEO)
        if source.status is not TaskStatus.COMPLETED:
            raise InvalidRequestError(
                f"video {source.id} is {source.status.value}; only a completed video can be {verb}",
                param=ask.param,
                code="video_not_ready",
            )
        return source

    def _check_holder(self, source: TaskRecord, spec: GenerationSpec, mode: VideoMode, param: str) -> None:
        """The account holding the source's clip must still be there and (when its catalogue is
        known) offer the task: Flow has the clip nowhere else."""
        account = self._pool.table.get(source.account_id)
        if account is None:
            raise InvalidRequestError(
                f"the Flow account that made video {source.id} has left the pool, and Flow holds the clip "
                "only there",
                param=param,
                code="source_unavailable",
            )
        # The legacy REST hosts predate Omni Flash's edit; their accounts report no catalogue.
        rest_edit = mode is VideoMode.EDIT and account.kind is AccountKind.REST
        if rest_edit or not account.serves(video_needs(spec, mode)):
            raise PermissionDeniedError(
                f"{WHAT[mode]} is not in the Flow catalogue of the account that holds video {source.id} "
                "(Flow has the clip only there)",
                param=param,
                code="model_not_offered",
            )


def _refuse_omni(source: TaskRecord, base: GenerationSpec, param: str) -> None:
    """Flow extends Veo clips only ("Only Veo-generated videos can be extended", live)."""
    if base.upstream_model == OMNI:
        raise InvalidRequestError(
            f"Flow extends only Veo videos; video {source.id} was made with Omni Flash", param=param
        )
