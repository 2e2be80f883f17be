"""The legacy REST transport: labs.google (session cookie, tRPC) and aisandbox-pa (Bearer).

Implements :class:`FlowTransport` over flow-protocol.md on a :class:`RestClient` (tokens, projects,
one call at a time): images (§5-§6) and videos (§7-§8: submits of every kind with the key for the
account's tier, batched status polls, media URL redirects for the mp4 and its poster). It knows
nothing of leases, pools or retries: one operation, one attempt.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import yarl

from gateway.config import FlowSettings
from gateway.domain import (
    Aspect,
    CaptchaAction,
    GeneratedImage,
    ImageData,
    ImageResolution,
    UpstreamMedia,
    VideoMode,
    VideoResolution,
    VideoSpeed,
)
from gateway.upstream.flow import rest_schemas as wire
from gateway.upstream.flow import rest_video_schemas as video_wire
from gateway.upstream.flow import video_keys
from gateway.upstream.flow.catalogue import legacy_offers
from gateway.upstream.flow.errors import (
    UpstreamConnectionLostError,
    UpstreamForbiddenError,
    UpstreamInvalidRequestError,
    UpstreamNotFoundError,
    UpstreamProtocolError,
    UpstreamUnconfirmedError,
)
from gateway.upstream.flow.rest_client import Redirect, RestClient
from gateway.upstream.flow.transport import (
    AccountInfo,
    FlowCredentials,
    ImageGenerationRequest,
    ProjectCache,
    SubmittedVideo,
    TokenSource,
    VideoJobStatus,
    VideoLinks,
    VideoSubmission,
)
from gateway.upstream.http import FlowSessions

MEDIA_REDIRECT = "/fx/api/trpc/media.getMediaUrlRedirect"
T = TypeVar("T")
# The image models of the REST hosts (flow-protocol.md §5), and what a REST account can be asked for.
REST_IMAGE_CODES = ("NARWHAL", "GEM_PIX_2", "IMAGEN_3_5")
REST_OFFERS = legacy_offers((video_keys.FAMILIES[speed] for speed in VideoSpeed), REST_IMAGE_CODES)


class RestTransport:
    """Flow over the labs.google + aisandbox-pa REST hosts."""

    name = "rest"
    max_images = 1  # one image per call: variants run in parallel, each on its own lease

    def __init__(
        self,
        sessions: FlowSessions,
        settings: FlowSettings,
        *,
        captcha: TokenSource,
        projects: ProjectCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = RestClient(sessions, settings, captcha=captcha, projects=projects, clock=clock)
        self._settings = settings

    # --- accounts ---------------------------------------------------------------------------

    async def account_info(self, creds: FlowCredentials) -> AccountInfo:
        """``GET /v1/credits``: credits and paygate tier."""
        return await self._client.account_info(creds)

    async def project_id(self, creds: FlowCredentials) -> str:
        """The account's project (created once, then remembered)."""
        return await self._client.project_id(creds)

    def forget(self, account_id: str) -> None:
        """Drop cached tokens and project for an account."""
        self._client.forget(account_id)

    async def download(self, url: str) -> bytes:
        """GET a signed media URL (no credentials), bounded in size."""
        return await self._client.download(url)

    async def download_into(self, url: str, write: Callable[[bytes], Awaitable[None]]) -> None:
        """GET a signed media URL piece by piece into ``write``."""
        await self._client.download_into(url, write)

    # --- images -----------------------------------------------------------------------------

    async def _in_project(self, creds: FlowCredentials, operation: Callable[[str], Awaitable[T]]) -> T:
        """Run ``operation`` in the account's project. Flow answers a project it no longer knows (a
        fresh upstream, a project deleted in its UI) with a bare 400: the project is then forgotten,
        another created, and the operation run again there, once (a 400 proves nothing was made)."""
        project_id = await self._client.project_id(creds)
        try:
            return await operation(project_id)
        except UpstreamInvalidRequestError as exc:
            if (exc.error is not None and exc.error.reasons) or not await self._client.renew_project(
                creds, project_id
            ):
                raise
        return await operation(await self._client.project_id(creds))

    async def _check_inputs(
        self, creds: FlowCredentials, inputs: Sequence[UpstreamMedia], endpoint: str
    ) -> None:
        """Inputs uploaded into a project since renewed are gone with it: NOT_FOUND, before any token
        is spent, so that the caller uploads them again."""
        project_id = await self._client.project_id(creds)
        if any(m.project_id != project_id for m in inputs):
            raise UpstreamNotFoundError("an input belongs to a project Flow forgot", endpoint=endpoint)

    async def upload_image(self, creds: FlowCredentials, image: ImageData) -> UpstreamMedia:
        """``POST /v1/flow/uploadImage`` into the account's project."""
        return await self._in_project(creds, lambda project: self._upload(creds, image, project))

    async def _upload(self, creds: FlowCredentials, image: ImageData, project_id: str) -> UpstreamMedia:
        now_ms = int(self._client.clock() * 1000)
        body = wire.build_upload(
            image, session_id=wire.new_session_id(now_ms), project_id=project_id, now_ms=now_ms
        )
        call = self._client.call("api", "POST", "/v1/flow/uploadImage", "upload")
        return wire.parse_upload(await self._client.api(call, creds, body=body), project_id)

    async def generate_images(
        self, creds: FlowCredentials, request: ImageGenerationRequest
    ) -> list[GeneratedImage]:
        """``flowMedia:batchGenerateImages`` with a fresh reCAPTCHA token."""
        await self._check_inputs(creds, request.inputs, "images.generate")
        return await self._in_project(creds, lambda project: self._generate(creds, request, project))

    async def _generate(
        self, creds: FlowCredentials, request: ImageGenerationRequest, project_id: str
    ) -> list[GeneratedImage]:
        path = f"/v1/projects/{project_id}/flowMedia:batchGenerateImages"
        call = self._client.call("api", "POST", path, "images.generate", self._settings.image_timeout)
        ctx, user_agent = await self._client.generation_context(
            CaptchaAction.IMAGE_GENERATION, project_id, None
        )
        body = wire.build_generate_images(request, ctx)
        return wire.parse_generated_images(
            await self._client.api(call, creds, body=body, user_agent=user_agent), project_id
        )

    async def upscale_image(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: ImageResolution
    ) -> bytes:
        """``/v1/flow/upsampleImage`` (2K/4K) with a fresh reCAPTCHA token; returns the image bytes."""
        info = await self._client.cached_info(creds)
        path, timeout = "/v1/flow/upsampleImage", self._settings.upsample_timeout
        call = self._client.call("api", "POST", path, "images.upsample", timeout)
        ctx, user_agent = await self._client.generation_context(
            CaptchaAction.IMAGE_GENERATION, media.project_id, info
        )
        body = wire.build_upsample(media, resolution, ctx)
        return wire.parse_upsample(await self._client.api(call, creds, body=body, user_agent=user_agent))

    # --- videos -----------------------------------------------------------------------------

    async def submit_video(self, creds: FlowCredentials, submission: VideoSubmission) -> SubmittedVideo:
        """``video:batchAsyncGenerateVideo<Method>`` with the key for the mode, speed and tier; an extend
        runs in its source's project, anything else in the account's (renewed if Flow forgot it). The
        REST hosts predate Omni Flash's edit: refused before a token is minted."""
        if submission.mode is VideoMode.EDIT:
            raise UpstreamForbiddenError("the legacy REST hosts have no video edit", endpoint="video.submit")
        if submission.source is not None:
            return await self._submit_in(creds, submission, submission.source.project_id)
        await self._check_inputs(creds, submission.images, "video.submit")
        return await self._in_project(creds, lambda project: self._submit_in(creds, submission, project))

    async def _submit_in(
        self, creds: FlowCredentials, submission: VideoSubmission, project_id: str
    ) -> SubmittedVideo:
        key = video_keys.rest_key(
            video_keys.KeyPlan(
                submission.mode, submission.speed, submission.seconds, submission.aspect, submission.ultra
            )
        )
        ctx, user_agent = await self._video_context(creds, project_id)
        method, body = video_wire.build_submit(submission, key, ctx)
        doc = await self._submit(creds, method, body, user_agent)
        return video_wire.parse_submit(doc, project_id)

    async def upscale_video(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: VideoResolution, aspect: Aspect
    ) -> SubmittedVideo:
        """``video:batchAsyncGenerateVideoUpsampleVideo`` (1080p or 4K): another job, polled the same way."""
        ctx, user_agent = await self._video_context(creds, media.project_id)
        body = video_wire.build_upsample(media, resolution, aspect, video_keys.upsampler_key(resolution), ctx)
        doc = await self._submit(creds, "UpsampleVideo", body, user_agent)
        return video_wire.parse_submit(doc, media.project_id)

    async def poll_videos(
        self, creds: FlowCredentials, jobs: Sequence[UpstreamMedia]
    ) -> list[VideoJobStatus]:
        """``video:batchCheckAsyncVideoGenerationStatus`` for many jobs at once (no token needed)."""
        path = "/v1/video:batchCheckAsyncVideoGenerationStatus"
        call = self._client.call("api", "POST", path, "video.status")
        doc = await self._client.api(call, creds, body=video_wire.build_status(list(jobs)))
        return video_wire.parse_status(doc, list(jobs))

    async def video_links(self, creds: FlowCredentials, media: UpstreamMedia) -> VideoLinks | None:
        """``media.getMediaUrlRedirect`` (session cookie): the mp4's signed URL, and the poster's if any."""
        video = await self._redirect(creds, media, "MEDIA_URL_TYPE_FULL_MEDIA")
        if video is None:
            return None
        try:
            poster = await self._redirect(creds, media, "MEDIA_URL_TYPE_THUMBNAIL")
        except (UpstreamProtocolError, UpstreamNotFoundError):
            poster = None  # a poster is a nicety: its absence never fails a video
        return VideoLinks(video, poster)

    async def _video_context(self, creds: FlowCredentials, project_id: str) -> tuple[dict[str, object], str]:
        info = await self._client.cached_info(creds)  # every video call carries the account's tier
        return await self._client.generation_context(CaptchaAction.VIDEO_GENERATION, project_id, info)

    async def _submit(self, creds: FlowCredentials, method: str, body: object, user_agent: str) -> object:
        path = f"/v1/video:batchAsyncGenerateVideo{method}"
        call = self._client.call("api", "POST", path, "video.submit", self._settings.video_submit_timeout)
        try:
            return await self._client.api(call, creds, body=body, user_agent=user_agent)
        except UpstreamConnectionLostError as exc:  # the job may exist, and be charged: never resent
            raise UpstreamUnconfirmedError(str(exc), endpoint="video.submit") from exc

    async def _redirect(self, creds: FlowCredentials, media: UpstreamMedia, url_type: str) -> str | None:
        query = {"name": media.name, "mediaUrlType": url_type}
        path = str(yarl.URL(MEDIA_REDIRECT).with_query(query))
        try:
            answer = await self._client.labs(self._client.call("labs", "GET", path, "media.redirect"), creds)
        except UpstreamNotFoundError:
            return None  # not published yet
        if not isinstance(answer, Redirect):
            raise UpstreamProtocolError("media.redirect: no redirect", endpoint="media.redirect")
        return answer.location
