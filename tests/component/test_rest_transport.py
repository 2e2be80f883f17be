"""The REST transport and the captcha adapter against the Flow simulator."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from gateway.captcha.anticaptcha import AntiCaptchaProvider
from gateway.config import Settings
from gateway.domain import Aspect, CaptchaAction, CaptchaFailedError, ImageData, ImageResolution, Secret, Tier
from gateway.store.memory import MemoryStore
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.rest import RestTransport
from gateway.upstream.flow.transport import FlowCredentials, ImageGenerationRequest
from gateway.upstream.http import open_client_session, open_flow_sessions
from tests.conftest import SimHandle

ULTRA = FlowCredentials("acc_u1", Secret("st-ultra-1"))
PRO = FlowCredentials("acc_p1", Secret("st-pro-1"))


@pytest.fixture
async def captcha(settings: Settings) -> AsyncIterator[AntiCaptchaProvider]:
    session = open_client_session(timeout=10)
    try:
        yield AntiCaptchaProvider(session, settings.captcha)
    finally:
        await session.close()


@pytest.fixture
async def transport(settings: Settings, captcha: AntiCaptchaProvider) -> AsyncIterator[RestTransport]:
    async with open_flow_sessions(settings.flow) as sessions:
        yield RestTransport(sessions, settings.flow, captcha=captcha, projects=MemoryStore())


def png(size: tuple[int, int] = (32, 32)) -> ImageData:
    buf = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buf, format="PNG")
    return ImageData(buf.getvalue(), "image/png")


async def test_account_info(transport: RestTransport) -> None:
    info = await transport.account_info(ULTRA)
    assert (info.tier, info.credits, info.email) == (Tier.ULTRA, 1000, "ultra1@example.com")


async def test_generate_upload_upscale_download(transport: RestTransport, simulator: SimHandle) -> None:
    media = await transport.upload_image(ULTRA, png())
    request = ImageGenerationRequest("GEM_PIX_2", "a fox", Aspect.LANDSCAPE, 7, (media,))
    (image,) = await transport.generate_images(ULTRA, request)
    data = await transport.download(image.url or "")
    small = Image.open(io.BytesIO(data))
    assert small.width > small.height
    big = Image.open(io.BytesIO(await transport.upscale_image(ULTRA, image.media, ImageResolution.R2K)))
    assert big.width > small.width
    assert simulator.sim.stats.calls("images.generate", with_token=True) == 1


async def test_project_is_created_once_per_account(transport: RestTransport, simulator: SimHandle) -> None:
    request = ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1)
    await asyncio.gather(*(transport.generate_images(ULTRA, request) for _ in range(3)))
    assert simulator.sim.stats.calls("project.create") == 1
    assert simulator.sim.stats.calls("auth.session") == 1


async def test_tier_refusal_is_forbidden(transport: RestTransport) -> None:
    request = ImageGenerationRequest("GEM_PIX_2", "x", Aspect.SQUARE, 1)
    (image,) = await transport.generate_images(PRO, request)
    with pytest.raises(up.UpstreamForbiddenError):
        await transport.upscale_image(PRO, image.media, ImageResolution.R4K)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("rate_limited", up.UpstreamRateLimitedError),
        ("recaptcha", up.UpstreamCaptchaError),
        ("unsafe", up.UpstreamContentRejectedError),
        ("internal", up.UpstreamUnavailableError),
        ("quota", up.UpstreamQuotaError),
        ("empty_400", up.UpstreamInvalidRequestError),
    ],
)
async def test_faults_are_classified(
    transport: RestTransport, simulator: SimHandle, kind: str, expected: type[up.UpstreamError]
) -> None:
    # Twice: a bare 400 renews the project and is tried once more (see below), then it stands.
    simulator.sim.faults.add(route="images.generate", kind=kind, count=2)
    with pytest.raises(expected):
        await transport.generate_images(ULTRA, ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1))


async def test_a_project_flow_forgot_is_renewed_once_and_the_call_made_again(
    transport: RestTransport, simulator: SimHandle
) -> None:
    request = ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1)
    (image,) = await transport.generate_images(ULTRA, request)
    simulator.sim.faults.add(route="images.generate", kind="empty_400", count=1)  # the project is gone
    (again,) = await transport.generate_images(ULTRA, request)
    assert again.media.project_id != image.media.project_id
    assert simulator.sim.stats.calls("project.create") == 2
    with pytest.raises(up.UpstreamNotFoundError):  # an input of the old project: to upload again
        await transport.generate_images(
            ULTRA, ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1, (image.media,))
        )
    simulator.sim.faults.add(route="images.generate", kind="empty_400", count=2)
    with pytest.raises(up.UpstreamInvalidRequestError):  # renewed moments ago: the request is at fault
        await transport.generate_images(ULTRA, request)
    assert simulator.sim.stats.calls("project.create") == 2


async def test_dead_session_is_an_auth_error(transport: RestTransport, simulator: SimHandle) -> None:
    simulator.sim.revoke_session("st-pro-1")
    with pytest.raises(up.UpstreamAuthError):
        await transport.account_info(PRO)


async def test_expired_access_token_is_refreshed(
    settings: Settings, captcha: AntiCaptchaProvider, simulator: SimHandle
) -> None:
    clock = [time.time()]
    async with open_flow_sessions(settings.flow) as sessions:
        transport = RestTransport(
            sessions, settings.flow, captcha=captcha, projects=MemoryStore(), clock=lambda: clock[0]
        )
        await transport.account_info(ULTRA)
        clock[0] += 10 * 24 * 3600  # far past any access token's expiry: the transport must exchange again
        await transport.account_info(ULTRA)
    assert simulator.sim.stats.calls("auth.session") == 2


async def test_captcha_tokens_are_fresh_and_carry_the_solver_ua(captcha: AntiCaptchaProvider) -> None:
    url = "https://labs.google/fx/tools/flow/project/p"
    first = await captcha.solve(action=CaptchaAction.IMAGE_GENERATION, website_url=url)
    second = await captcha.solve(action=CaptchaAction.IMAGE_GENERATION, website_url=url)
    assert first.token != second.token
    assert first.user_agent


async def test_captcha_wrong_key_fails_cleanly(settings: Settings) -> None:
    from msgspec.structs import replace

    session = open_client_session(timeout=10)
    try:
        provider = AntiCaptchaProvider(session, replace(settings.captcha, client_key="wrong"))
        with pytest.raises(CaptchaFailedError, match="ERROR_KEY_DOES_NOT_EXIST"):
            await provider.solve(
                action=CaptchaAction.IMAGE_GENERATION,
                website_url="https://labs.google/fx/tools/flow/project/p",
            )
    finally:
        await session.close()


async def test_refused_fresh_token_means_migrated(transport: RestTransport, simulator: SimHandle) -> None:
    simulator.sim.refuse_rest("st-pro-1")
    with pytest.raises(up.UpstreamMigratedError):
        await transport.account_info(PRO)
    assert simulator.sim.stats.calls("credits") == 2  # refreshed once, then gave up
    assert simulator.sim.stats.calls("auth.session") == 2


async def test_generation_401_is_not_resent(transport: RestTransport, simulator: SimHandle) -> None:
    await transport.account_info(ULTRA)
    simulator.sim.faults.add(route="images.generate", kind="unauthenticated", count=1)
    with pytest.raises(up.UpstreamAuthError) as info:
        await transport.generate_images(ULTRA, ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1))
    assert not isinstance(info.value, up.UpstreamMigratedError)
    assert simulator.sim.stats.calls("images.generate") == 1
