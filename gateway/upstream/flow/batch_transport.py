"""Flow over flow.google.com: batchexecute RPCs run by browser workers (``FlowTransport``).

Builds each RPC with the codec, has the account's worker run it in its signed-in tab (the worker
mints the reCAPTCHA token in the page and substitutes it), and parses the framed reply into domain
values or the same typed errors the REST transport raises. A generate is never retried here: the
token is single use and credits may already be spent.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

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
from gateway.upstream.flow import errors as up
from gateway.upstream.flow import video_keys
from gateway.upstream.flow.batch import BatchCall, encode_freq, parse_reply
from gateway.upstream.flow.transport import (
    AccountInfo,
    FlowCredentials,
    ImageGenerationRequest,
    SubmittedVideo,
    VideoJobStatus,
    VideoLinks,
    VideoSubmission,
)
from gateway.upstream.flow.workers import WorkerHub, result_body

# A worker's ``result.error.code`` (flow-migration.md §4.2) as a typed upstream error.
WORKER_ERRORS: dict[str, type[up.UpstreamError]] = {
    "NO_FLOW_TAB": up.UpstreamUnavailableError,
    "TAB_DISCARDED": up.UpstreamUnavailableError,
    "FETCH_FAILED": up.UpstreamUnavailableError,
    "SIGNED_OUT": up.UpstreamAuthError,
    "REAUTH_REQUIRED": up.UpstreamAuthError,
    "NO_AT_TOKEN": up.UpstreamAuthError,
    "CAPTCHA_FAILED": up.UpstreamCaptchaError,
    "CAPTCHA_TIMEOUT": up.UpstreamCaptchaError,
    "DEADLINE": up.UpstreamTimeoutError,
    "BAD_REQUEST": up.UpstreamInvalidRequestError,
}
# HTTP statuses of the batchexecute POST itself (§2.3): 401 stale cookies/at, 400 another account's triple.
HTTP_ERRORS: dict[int, type[up.UpstreamError]] = {
    400: up.UpstreamAuthError,
    401: up.UpstreamAuthError,
    403: up.UpstreamForbiddenError,
    429: up.UpstreamRateLimitedError,
}
Downloader = Callable[[str], Awaitable[bytes]]
IMAGE, VIDEO = CaptchaAction.IMAGE_GENERATION, CaptchaAction.VIDEO_GENERATION


class BatchTransport:
    """Flow operations through the workers of a ``WorkerHub``."""

    name = "worker"

    def __init__(
        self, hub: WorkerHub, settings: BatchSettings, *, download: Downloader, tier_of: Callable[[str], Tier]
    ) -> None:
        self._hub = hub
        self._settings = settings
        self._download = download
        self._tier_of = tier_of

    async def account_info(self, creds: FlowCredentials) -> AccountInfo:
        """The tier the operator declared (no credits RPC is confirmed on flow.google.com yet)."""
        return AccountInfo(None, self._tier_of(creds.worker_key))

    async def upload_image(self, creds: FlowCredentials, image: ImageData) -> UpstreamMedia:
        """``maseQ`` into the tab's project (it needs a token too)."""
        project = self._project(creds)
        name = f"gateway_upload_{int(time.time() * 1000)}.{'png' if 'png' in image.mime else 'jpg'}"
        payload = await self._run(
            creds, rpc.RPC_UPLOAD, rpc.upload(image, project, name, self._settings), project, IMAGE
        )
        return rpc.parse_upload(payload, project)

    async def generate_images(
        self, creds: FlowCredentials, request: ImageGenerationRequest
    ) -> list[GeneratedImage]:
        """``ogiZ0b``: the reply carries the signed image URLs inline."""
        project = self._project(creds)
        inner = rpc.image_generate(request, project, self._settings)
        return rpc.parse_image_generate(await self._run(creds, rpc.RPC_IMAGE, inner, project, IMAGE), project)

    async def upscale_image(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: ImageResolution
    ) -> bytes:
        """``SPrCad``: 2K or 4K, base64 inline."""
        inner = rpc.image_upscale(media, resolution, self._settings)
        return rpc.parse_image_upscale(
            await self._run(creds, rpc.RPC_IMAGE_UPSCALE, inner, media.project_id, IMAGE)
        )

    async def download(self, url: str) -> bytes:
        """Signed result URLs need no cookies: fetched by the gateway itself."""
        return await self._download(url)

    async def submit_video(self, creds: FlowCredentials, submission: VideoSubmission) -> SubmittedVideo:
        """``YhhmEf`` / ``eb1hJf`` / ``nprQif`` / ``MZZa6b``, or ``fZytfe`` to extend."""
        project = submission.source.project_id if submission.source else self._project(creds)
        plan = video_keys.KeyPlan(
            submission.mode, submission.speed, submission.seconds, submission.aspect, submission.ultra
        )
        key = video_keys.batch_key(plan, self._settings.video_key_overrides)
        if submission.mode is VideoMode.EXTEND:
            rpcid, inner = rpc.RPC_EXTEND, rpc.video_extend(_extend(submission, key), project, self._settings)
        else:
            rpcid, inner = rpc.video_submit(_request(submission, key), project, self._settings)
        payload = await self._run(creds, rpcid, inner, project, VIDEO)
        return SubmittedVideo(rpc.parse_video_submit(payload, project))

    async def upscale_video(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: VideoResolution, aspect: Aspect
    ) -> SubmittedVideo:
        """``p0UkFb``: 1080p (4K through the same RPC is unconfirmed, see the codec)."""
        key = video_keys.batch_key_for_upsampler(resolution, self._settings.video_key_overrides)
        inner = rpc.video_upscale(media.name, media.name, aspect, self._settings, key=key)
        payload = await self._run(creds, rpc.RPC_VIDEO_UPSCALE, inner, media.project_id, VIDEO)
        return SubmittedVideo(rpc.parse_video_submit(payload, media.project_id))

    async def poll_videos(
        self, creds: FlowCredentials, jobs: Sequence[UpstreamMedia]
    ) -> list[VideoJobStatus]:
        """``jwpduf``: many jobs in one read."""
        project = jobs[0].project_id if jobs else self._project(creds)
        payload = await self._run(creds, rpc.RPC_POLL, rpc.poll([j.name for j in jobs]), project, None)
        return rpc.parse_video_poll(payload, jobs)

    async def video_links(self, creds: FlowCredentials, media: UpstreamMedia) -> VideoLinks | None:
        """``as29s``: the record with the signed video and poster URLs (``[5]`` until published)."""
        try:
            payload = await self._run(
                creds, rpc.RPC_MEDIA, rpc.media_record(media.name), media.project_id, None
            )
        except up.UpstreamNotFoundError:
            return None
        return rpc.parse_video_links(payload)

    def _project(self, creds: FlowCredentials) -> str:
        project = self._hub.project_of(creds.worker_key)
        if project is None:
            raise up.UpstreamWorkerGoneError(f"no worker serves {creds.worker_key}", endpoint="batch")
        return project

    async def _run(
        self, creds: FlowCredentials, rpcid: str, inner: object, project: str, action: CaptchaAction | None
    ) -> object:
        """One RPC through the account's worker; ``action`` None for reads (no token is minted)."""
        endpoint = f"batch.{rpcid}"
        call = BatchCall(
            rpcid, encode_freq(rpcid, inner), rpc.project_path(project), action, self._settings.call_timeout
        )
        try:
            return await self._call(creds.worker_key, call, endpoint)
        except up.UpstreamCaptchaError:
            self._hub.note_captcha_refusal(creds.worker_key)
            raise

    async def _call(self, worker_key: str, call: BatchCall, endpoint: str) -> object:
        result = await self._hub.call(worker_key, call)
        if not result.get("ok"):
            raise _worker_error(result.get("error"), endpoint)
        status, body = result_body(result, endpoint=endpoint)
        if status != 200:
            cls = HTTP_ERRORS.get(
                status, up.UpstreamUnavailableError if status >= 500 else up.UpstreamProtocolError
            )
            raise cls(f"{endpoint}: HTTP {status}", endpoint=endpoint)
        return parse_reply(body, call.rpcid, endpoint=endpoint)


def _request(submission: VideoSubmission, key: str) -> rpc.VideoRequest:
    names = [m.name for m in submission.images]
    if submission.mode is VideoMode.REFERENCES:
        return rpc.VideoRequest(submission.prompt, key, submission.aspect, references=tuple(names))
    start = names[0] if names else None
    end = names[1] if submission.mode is VideoMode.START_END else None
    return rpc.VideoRequest(submission.prompt, key, submission.aspect, start=start, end=end)


def _extend(submission: VideoSubmission, key: str) -> rpc.ExtendRequest:
    """The source's id doubles as its workflow id (gflow PR #882: the same uuid names both)."""
    if submission.source is None:
        raise ValueError("an extend needs its source video")
    return rpc.ExtendRequest(
        submission.source.name,
        submission.source_seconds,
        rpc.new_uuid(),
        submission.prompt,
        key,
        submission.aspect,
    )


def _worker_error(error: Any, endpoint: str) -> up.UpstreamError:
    code = error.get("code") if isinstance(error, dict) else None
    cls = WORKER_ERRORS.get(str(code), up.UpstreamUnavailableError)
    return cls(f"{endpoint}: worker error {code}", endpoint=endpoint)
