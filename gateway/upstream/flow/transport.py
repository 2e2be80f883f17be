"""The transport-neutral face of Flow: operations every upstream path implements.

Flow moved to flow.google.com (batchexecute through a signed-in browser) in September 2026, while
some accounts still work over the legacy REST hosts. The service codes against
:class:`FlowTransport`; each transport (REST here, browser workers later) implements the same
operations and raises the same typed errors from ``gateway.upstream.flow.errors``.
"""

from __future__ import annotations

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
    """Credits and paygate tier of an account."""

    credits: int | None
    tier: Tier
    email: str = ""


@dataclass(frozen=True, slots=True)
class ImageGenerationRequest:
    """One upstream image generation: model, prompt, aspect and inputs already uploaded for the account."""

    upstream_model: str
    prompt: str
    aspect: Aspect
    seed: int
    inputs: tuple[UpstreamMedia, ...] = ()


class FlowTransport(Protocol):
    """The Flow operations, per account. Raises ``UpstreamError`` subclasses only."""

    name: str

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
