"""The transport-neutral face of Flow: operations every upstream path implements.

Flow moved to flow.google.com (batchexecute through a signed-in browser) in September 2026, while
some accounts still work over the legacy REST hosts. The service codes against
:class:`FlowTransport`; each transport (REST here, browser workers later) implements the same
operations and raises the same typed errors from ``gateway.upstream.flow.errors``.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.domain import (
    Aspect,
    CaptchaAction,
    CaptchaToken,
    GeneratedImage,
    ImageData,
    ImageResolution,
    Secret,
    Tier,
    UpstreamMedia,
    VideoMode,
    VideoResolution,
    VideoSpeed,
)


@dataclass(frozen=True, slots=True)
class FlowCredentials:
    """What a transport needs to act as one account; ``account_id`` is the short id used in logs."""

    account_id: str
    session_token: Secret
    proxy: str | None = None
    worker_key: str = ""


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """Credits and paygate tier of an account, and (flow.google.com) what its catalogue offers.

    ``offers`` are the routing tokens of ``catalogue.offers_of`` (None: unknown, every request may
    try the account), ``models`` the model keys its tier may use, ``problems`` what could not be read
    (the account is still served, with the declared tier and derived keys); ``tier_read`` is False
    when ``tier`` is the declared fallback rather than Flow's answer.
    """

    credits: int | None
    tier: Tier
    email: str = ""
    offers: frozenset[str] | None = None
    models: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    tier_read: bool = True


@dataclass(frozen=True, slots=True)
class ImageGenerationRequest:
    """One upstream image generation: model, prompt, aspect and inputs already uploaded for the account;
    ``count`` variants in one call where the transport can (seeds ``seed``, ``seed + 1``, …)."""

    upstream_model: str
    prompt: str
    aspect: Aspect
    seed: int
    inputs: tuple[UpstreamMedia, ...] = ()
    count: int = 1


@dataclass(frozen=True, slots=True)
class VideoSubmission:
    """One upstream video generation, its inputs already uploaded for (or produced by) the account.

    ``images`` are the start (and end) frame, or the references, by mode; ``source`` the finished
    video an extend continues. ``ultra`` says whether the account is Ultra (it picks the key's twin);
    ``family`` is Flow's model family (``veo_3_1_fast``, ``abra``…) on flow.google.com.
    """

    mode: VideoMode
    prompt: str
    aspect: Aspect
    speed: VideoSpeed
    seconds: int
    seed: int
    ultra: bool = False
    images: tuple[UpstreamMedia, ...] = ()
    source: UpstreamMedia | None = None
    source_seconds: int = 8
    family: str = ""


@dataclass(frozen=True, slots=True)
class SubmittedVideo:
    """The upstream job a submit created, and the credits Flow says remain (when it says)."""

    media: UpstreamMedia
    remaining_credits: int | None = None


class JobState(enum.StrEnum):
    """An upstream video job's state."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class VideoJobStatus:
    """One job's state from a (batched) status poll; ``reason`` is the ``PUBLIC_ERROR_*`` of a failure."""

    media: UpstreamMedia
    state: JobState
    reason: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class VideoLinks:
    """Where a finished video (and its poster, when Flow has one) can be downloaded; signed, expiring."""

    video: str
    poster: str | None = None


class FlowTransport(Protocol):
    """The Flow operations, per account. Raises ``UpstreamError`` subclasses only.

    ``max_images`` is how many image variants one ``generate_images`` call may ask for.
    """

    name: str
    max_images: int

    async def account_info(self, creds: FlowCredentials) -> AccountInfo:
        """Credits and tier (also proves the credentials work)."""
        ...

    async def upload_image(self, creds: FlowCredentials, image: ImageData) -> UpstreamMedia:
        """Upload an input image into the account's project."""
        ...

    async def generate_images(
        self, creds: FlowCredentials, request: ImageGenerationRequest
    ) -> list[GeneratedImage]:
        """Generate one image (Flow answers synchronously)."""
        ...

    async def upscale_image(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: ImageResolution
    ) -> bytes:
        """Upsample a generated image to 2K or 4K; returns the image bytes."""
        ...

    async def download(self, url: str) -> bytes:
        """Fetch a result from an upstream media URL (signed, expiring)."""
        ...

    async def download_into(self, url: str, write: Callable[[bytes], Awaitable[None]]) -> None:
        """Fetch a result piece by piece into ``write`` (a video straight to storage)."""
        ...

    async def submit_video(self, creds: FlowCredentials, submission: VideoSubmission) -> SubmittedVideo:
        """Start a video job (text, frames, references or extend)."""
        ...

    async def upscale_video(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: VideoResolution, aspect: Aspect
    ) -> SubmittedVideo:
        """Start an upscale (1080p or 4K) of a finished video."""
        ...

    async def poll_videos(
        self, creds: FlowCredentials, jobs: Sequence[UpstreamMedia]
    ) -> list[VideoJobStatus]:
        """The states of many jobs of one account and project, in one call."""
        ...

    async def video_links(self, creds: FlowCredentials, media: UpstreamMedia) -> VideoLinks | None:
        """The signed URLs of a finished video; None while Flow has not published them yet."""
        ...


class TokenSource(Protocol):
    """Anything that mints a fresh single-use reCAPTCHA token (a solver service, a browser worker)."""

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        """Mint one token; raise ``CaptchaFailedError`` when none can be had."""
        ...


class ProjectCache(Protocol):
    """Where the project id of each account is remembered across restarts."""

    async def get_project(self, account_id: str) -> str | None:
        """The cached project id, if any."""
        ...

    async def set_project(self, account_id: str, project_id: str) -> None:
        """Remember the project id."""
        ...

    async def forget_project(self, account_id: str) -> None:
        """Forget the project id (Flow no longer knows it)."""
        ...
