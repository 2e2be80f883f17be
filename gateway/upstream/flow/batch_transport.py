"""Flow over flow.google.com: batchexecute RPCs run by browser workers (``FlowTransport``).

Builds each RPC with the codec, has the account's worker run it (``BatchCaller``), and parses the
reply into domain values or the same typed errors the REST transport raises. A generate is never
retried here: the token is single use and credits may already be spent.

Each account's catalogue (``HTrJv``) and credits (``nzlxg``) are read by :meth:`account_info` and
kept here per worker: model keys are chosen from the account's own catalogue, and a task its
catalogue does not offer is refused before any token is minted. An account whose catalogue could
not be read is served with derived keys (``video_keys.derived_key``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.config import BatchSettings
from gateway.domain import (
    Aspect,
    CaptchaAction,
    GeneratedImage,
    ImageData,
    ImageResolution,
    Tier,
    UpstreamMedia,
    VideoMode,
    VideoResolution,
)
from gateway.upstream.flow import batch_rpcs as rpc
from gateway.upstream.flow import batch_video as vrpc
from gateway.upstream.flow import catalogue as cat
from gateway.upstream.flow import errors as up
from gateway.upstream.flow import video_keys
from gateway.upstream.flow.batch_caller import BatchCaller
from gateway.upstream.flow.transport import (
    AccountInfo,
    FlowCredentials,
    ImageGenerationRequest,
    JobState,
    SubmittedVideo,
    VideoJobStatus,
    VideoLinks,
    VideoSubmission,
)
from gateway.upstream.flow.workers import WorkerHub


class MediaFetcher(Protocol):
    """Fetches signed result URLs (no cookies needed): the REST transport's downloads."""

    async def download(self, url: str) -> bytes:
        """The bytes at ``url``."""
        ...

    async def download_into(self, url: str, write: Callable[[bytes], Awaitable[None]]) -> None:
        """The bytes at ``url``, piece by piece."""
        ...


IMAGE, VIDEO = CaptchaAction.IMAGE_GENERATION, CaptchaAction.VIDEO_GENERATION


@dataclass(frozen=True, slots=True)
class _Known:
    """An account's catalogue and the service tier its costs are read at."""

    catalogue: cat.FlowCatalogue
    service_tier: int


class BatchTransport:
    """Flow operations through the workers of a ``WorkerHub``."""

    name = "worker"
    max_images = 4  # up to 4 variants as rows of one ogiZ0b: one token, one held request (fograd)

    def __init__(
        self,
        hub: WorkerHub,
        settings: BatchSettings,
        *,
        downloads: MediaFetcher,
        tier_of: Callable[[str], Tier],
        caller: BatchCaller | None = None,
    ) -> None:
        self._hub = hub
        self._settings = settings
        self._downloads = downloads
        self._tier_of = tier_of
        self._caller = caller or BatchCaller(hub, settings)
        self._known: dict[str, _Known] = {}
        self._recent: dict[str, UpstreamMedia] = {}  # the newest finished video per worker (doctor)
        self._reading: dict[str, asyncio.Future[AccountInfo]] = {}
        self._aspects = {code: name for name, code in settings.video_aspect_codes.items()}

    async def account_info(self, creds: FlowCredentials) -> AccountInfo:
        """Credits and tier (``nzlxg``) and the catalogue (``HTrJv``). Either may fail to read (an error
        frame, an unknown shape): the account is then still served, with the declared tier and derived
        keys, and the problem is reported. A worker that is gone or signed out is an error. Callers
        asking while a read is under way share it (a worker's connect and its first request do)."""
        running = self._reading.get(creds.worker_key)
        if running is None:
            running = asyncio.ensure_future(self._read_account(creds))
            self._reading[creds.worker_key] = running
            running.add_done_callback(lambda _: self._reading.pop(creds.worker_key, None))
        return await asyncio.shield(running)

    async def _read_account(self, creds: FlowCredentials) -> AccountInfo:
        project, problems = self._project(creds), []
        tier, credits, service, tier_read = self._tier_of(creds.worker_key), None, None, False
        try:
            read = cat.parse_credits(
                await self._read(creds, cat.RPC_CREDITS, project),
                service_tier_slot=self._settings.service_tier_slot,
            )
            credits, service = read.balance, read.service_tier
            if read.tier is not None:
                tier, tier_read = read.tier, True
        except (up.UpstreamWorkerGoneError, up.UpstreamAuthError):
            raise
        except up.UpstreamError as exc:
            problems.append(f"credits: {type(exc).__name__} {exc.reason}")
        service = service or cat.SERVICE_TIER_OF[tier]
        try:
            catalogue = cat.parse_catalogue(await self._read(creds, cat.RPC_CATALOGUE, project))
        except (up.UpstreamWorkerGoneError, up.UpstreamAuthError):
            raise
        except up.UpstreamError as exc:
            self._known.pop(creds.worker_key, None)
            problems.append(f"catalogue: {type(exc).__name__} {exc.reason}")
            return AccountInfo(credits, tier, problems=tuple(problems), tier_read=tier_read)
        self._known[creds.worker_key] = _Known(catalogue, service)
        return AccountInfo(
            credits,
            tier,
            offers=cat.offers_of(catalogue, service, self._aspects),
            models=tuple(u.key for u in catalogue.offered(service)),
            problems=tuple(problems),
            tier_read=tier_read,
        )

    async def upload_image(self, creds: FlowCredentials, image: ImageData) -> UpstreamMedia:
        """``maseQ`` into the tab's project (it needs a token too)."""
        project = self._project(creds)
        name = f"gateway_upload_{int(time.time() * 1000)}.{'png' if 'png' in image.mime else 'jpg'}"
        inner = rpc.upload(image, project, name, self._settings)
        action = CaptchaAction(self._settings.upload_action)
        payload = await self._caller.run(
            creds.worker_key, rpc.RPC_UPLOAD, inner, project=project, action=action
        )
        return rpc.parse_upload(payload, project)

    async def generate_images(
        self, creds: FlowCredentials, request: ImageGenerationRequest
    ) -> list[GeneratedImage]:
        """``ogiZ0b``: ``request.count`` variants in one call; the reply carries the signed URLs."""
        self._require_image(creds, request.upstream_model)
        project = self._project(creds)
        inner = rpc.image_generate(request, project, self._settings)
        payload = await self._caller.run(
            creds.worker_key, rpc.RPC_IMAGE, inner, project=project, action=IMAGE
        )
        return rpc.parse_image_generate(payload, project)

    async def upscale_image(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: ImageResolution
    ) -> bytes:
        """``SPrCad``: 2K or 4K, base64 inline."""
        self._require_image(creds, cat.IMAGE_UPSCALES[resolution])
        inner = rpc.image_upscale(media, resolution, self._settings)
        return rpc.parse_image_upscale(
            await self._caller.run(
                creds.worker_key, rpc.RPC_IMAGE_UPSCALE, inner, project=media.project_id, action=IMAGE
            )
        )

    async def download(self, url: str) -> bytes:
        """Signed result URLs need no cookies: fetched by the gateway itself."""
        return await self._downloads.download(url)

    async def download_into(self, url: str, write: Callable[[bytes], Awaitable[None]]) -> None:
        """Signed result URLs need no cookies: fetched by the gateway itself, piece by piece."""
        await self._downloads.download_into(url, write)

    async def submit_video(self, creds: FlowCredentials, submission: VideoSubmission) -> SubmittedVideo:
        """``YhhmEf`` / ``eb1hJf`` / ``nprQif`` / ``MZZa6b``, ``fZytfe`` to extend, ``jIps6`` to edit."""
        project = submission.source.project_id if submission.source else self._project(creds)
        key = self._video_key(creds, submission)
        if submission.mode is VideoMode.EXTEND:
            rpcid, inner = (
                vrpc.RPC_EXTEND,
                vrpc.video_extend(_extend(submission, key), project, self._settings),
            )
        elif submission.mode is VideoMode.EDIT:
            rpcid, inner = vrpc.RPC_EDIT, vrpc.video_edit(_edit(submission, key), project, self._settings)
        else:
            rpcid, inner = vrpc.video_submit(_request(submission, key), project, self._settings)
        payload = await self._caller.run(
            creds.worker_key, rpcid, inner, project=project, action=VIDEO, submit=True
        )
        return SubmittedVideo(vrpc.parse_video_submit(payload, project), vrpc.balance_of(payload))

    async def upscale_video(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: VideoResolution, aspect: Aspect
    ) -> SubmittedVideo:
        """``p0UkFb``: the source by media and generation id (read from its record when a task from
        before the generation id was kept has none), the upsampler from the account's catalogue."""
        key, target = self._upscaler(creds, resolution)
        if not media.workflow:
            media = await self._with_workflow(creds, media)
        inner = vrpc.video_upscale(media, target, aspect, self._settings, key=key)
        payload = await self._caller.run(
            creds.worker_key,
            vrpc.RPC_VIDEO_UPSCALE,
            inner,
            project=media.project_id,
            action=VIDEO,
            submit=True,
        )
        return SubmittedVideo(vrpc.parse_video_submit(payload, media.project_id), vrpc.balance_of(payload))

    async def poll_videos(
        self, creds: FlowCredentials, jobs: Sequence[UpstreamMedia]
    ) -> list[VideoJobStatus]:
        """``jwpduf``: many jobs in one read."""
        project = jobs[0].project_id if jobs else self._project(creds)
        inner = vrpc.poll([j.name for j in jobs])
        payload = await self._caller.run(creds.worker_key, vrpc.RPC_POLL, inner, project=project)
        statuses = vrpc.parse_video_poll(payload, jobs)
        done = [s.media for s in statuses if s.state is JobState.SUCCEEDED]
        if done:
            self._recent[creds.worker_key] = done[-1]
        return statuses

    def recent_video(self, worker_key: str) -> UpstreamMedia | None:
        """The newest video seen finished on that worker's account since start (for ``doctor``)."""
        return self._recent.get(worker_key)

    async def video_links(self, creds: FlowCredentials, media: UpstreamMedia) -> VideoLinks | None:
        """``as29s``: the record with the signed video and poster URLs (a bare id, or ``[5]``, until
        published)."""
        try:
            payload = await self._media(creds, media)
        except up.UpstreamNotFoundError:
            return None
        return vrpc.parse_video_links(payload)

    async def _media(self, creds: FlowCredentials, media: UpstreamMedia) -> object:
        inner = vrpc.media_record(media.name)
        return await self._caller.run(creds.worker_key, vrpc.RPC_MEDIA, inner, project=media.project_id)

    async def _with_workflow(self, creds: FlowCredentials, media: UpstreamMedia) -> UpstreamMedia:
        workflow = vrpc.workflow_of(await self._media(creds, media))
        if not workflow:
            raise up.UpstreamProtocolError("as29s: the record has no generation id", endpoint="batch.as29s")
        return UpstreamMedia(media.name, media.project_id, workflow)

    async def _read(self, creds: FlowCredentials, rpcid: str, project: str) -> object:
        return await self._caller.run(creds.worker_key, rpcid, [], project=project)

    def _project(self, creds: FlowCredentials) -> str:
        project = self._hub.project_of(creds.worker_key)
        if project is None:
            raise up.UpstreamWorkerGoneError(f"no worker serves {creds.worker_key}", endpoint="batch")
        return project

    def _video_key(self, creds: FlowCredentials, submission: VideoSubmission) -> str:
        """The key from the account's catalogue; derived when it is unknown; refused (before a token is
        minted) when the catalogue is known and offers nothing for the task."""
        known = self._known.get(creds.worker_key)
        family = submission.family or video_keys.FAMILIES[submission.speed]
        if known is None:
            plan = video_keys.BatchPlan(
                submission.mode, family, submission.seconds, submission.aspect, submission.ultra
            )
            return video_keys.derived_key(plan, self._settings.video_key_overrides)
        usage = known.catalogue.video(
            family=family,
            mode=submission.mode,
            seconds=submission.seconds,
            aspect=self._settings.video_aspect_codes[submission.aspect.value],
            service_tier=known.service_tier,
        )
        if usage is None:
            raise up.UpstreamForbiddenError(
                f"the account's catalogue offers no {family} key for {submission.mode.value}",
                endpoint="catalogue",
            )
        return self._settings.video_key_overrides.get(usage.key, usage.key)

    def _upscaler(self, creds: FlowCredentials, resolution: VideoResolution) -> tuple[str, int]:
        target = self._settings.upscale_targets[resolution.value]
        known = self._known.get(creds.worker_key)
        if known is None:
            return video_keys.batch_key_for_upsampler(resolution, self._settings.video_key_overrides), target
        usage = known.catalogue.upscaler(resolution.value, known.service_tier)
        if usage is None:
            raise up.UpstreamForbiddenError(
                f"the account's catalogue offers no upscale to {resolution.value}", endpoint="catalogue"
            )
        return self._settings.video_key_overrides.get(usage.key, usage.key), target

    def _require_image(self, creds: FlowCredentials, code: str) -> None:
        known = self._known.get(creds.worker_key)
        if known is not None and all(u.key != code for u in known.catalogue.offered(known.service_tier)):
            raise up.UpstreamForbiddenError(
                f"the account's catalogue does not offer {code}", endpoint="catalogue"
            )


def _request(submission: VideoSubmission, key: str) -> vrpc.VideoRequest:
    names = [m.name for m in submission.images]
    if submission.mode is VideoMode.REFERENCES:
        return vrpc.VideoRequest(submission.prompt, key, submission.aspect, references=tuple(names))
    start = names[0] if names else None
    end = names[1] if submission.mode is VideoMode.START_END else None
    return vrpc.VideoRequest(submission.prompt, key, submission.aspect, start=start, end=end)


def _extend(submission: VideoSubmission, key: str) -> vrpc.ExtendRequest:
    """The source by its media id (the id its URL carries; gflow's live capture)."""
    if submission.source is None:
        raise ValueError("an extend needs its source video")
    return vrpc.ExtendRequest(
        submission.source.name, submission.source_seconds, submission.prompt, key, submission.aspect
    )


def _edit(submission: VideoSubmission, key: str) -> vrpc.EditRequest:
    """The source by its media id, like an extend's."""
    if submission.source is None:
        raise ValueError("an edit needs its source video")
    return vrpc.EditRequest(
        submission.source.name, submission.source_seconds, submission.prompt, key, submission.aspect
    )
