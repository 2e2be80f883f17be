"""Video operations of both transports against the simulator: every mode, batched polls, links, upscales."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.captcha.anticaptcha import AntiCaptchaProvider
from gateway.config import Settings
from gateway.domain import Aspect, Secret, VideoMode, VideoResolution, VideoSpeed
from gateway.simulator import SimulatorConfig
from gateway.store.memory import MemoryStore
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.rest import RestTransport
from gateway.upstream.flow.transport import FlowCredentials, JobState, VideoSubmission
from gateway.upstream.http import open_client_session, open_flow_sessions
from tests.component.test_rest_transport import png
from tests.conftest import CAPTCHA_KEY, SimHandle

ULTRA = FlowCredentials("acc_u1", Secret("st-ultra-1"))
PRO = FlowCredentials("acc_p1", Secret("st-pro-1"))


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
async def rest(settings: Settings) -> AsyncIterator[RestTransport]:
    session = open_client_session(timeout=10)
    async with open_flow_sessions(settings.flow) as sessions:
        yield RestTransport(
            sessions,
            settings.flow,
            captcha=AntiCaptchaProvider(session, settings.captcha),
            projects=MemoryStore(),
        )
    await session.close()


async def until_done(rest: RestTransport, creds: FlowCredentials, jobs: list) -> list:  # type: ignore[type-arg]
    for _ in range(100):
        states = await rest.poll_videos(creds, jobs)
        if all(s.state in (JobState.SUCCEEDED, JobState.FAILED) for s in states):
            return states
        await asyncio.sleep(0.1)
    raise AssertionError("videos never finished")


@pytest.mark.parametrize(
    ("mode", "speed", "seconds", "aspect", "images"),
    [
        (VideoMode.TEXT, VideoSpeed.QUALITY, 8, Aspect.PORTRAIT, 0),
        (VideoMode.TEXT, VideoSpeed.FAST, 4, Aspect.LANDSCAPE, 0),
        (VideoMode.TEXT, VideoSpeed.RELAXED, 8, Aspect.PORTRAIT, 0),
        (VideoMode.TEXT, VideoSpeed.LITE, 6, Aspect.LANDSCAPE, 0),
        (VideoMode.START, VideoSpeed.FAST, 8, Aspect.PORTRAIT, 1),
        (VideoMode.START_END, VideoSpeed.FAST, 8, Aspect.LANDSCAPE, 2),
        (VideoMode.START_END, VideoSpeed.LITE, 8, Aspect.LANDSCAPE, 2),
        (VideoMode.START, VideoSpeed.QUALITY, 4, Aspect.LANDSCAPE, 1),
        (VideoMode.REFERENCES, VideoSpeed.FAST, 8, Aspect.PORTRAIT, 3),
    ],
)
async def test_rest_submits_every_mode_and_the_video_downloads(
    rest: RestTransport,
    mode: VideoMode,
    speed: VideoSpeed,
    seconds: int,
    aspect: Aspect,
    images: int,
) -> None:
    uploads = tuple([await rest.upload_image(ULTRA, png()) for _ in range(images)])
    submission = VideoSubmission(mode, "a fox", aspect, speed, seconds, seed=7, ultra=True, images=uploads)
    submitted = await rest.submit_video(ULTRA, submission)
    assert submitted.remaining_credits is not None
    assert (submitted.remaining_credits < 1000) is (speed is not VideoSpeed.RELAXED)  # relaxed costs nothing
    (status,) = await until_done(rest, ULTRA, [submitted.media])
    assert status.state is JobState.SUCCEEDED
    links = await rest.video_links(ULTRA, submitted.media)
    assert links is not None and links.poster is not None
    data = await rest.download(links.video)
    assert data[4:8] == b"ftyp"
    assert (await rest.download(links.poster))[:2] == b"\xff\xd8"


async def test_rest_polls_many_jobs_in_one_call(rest: RestTransport, simulator: SimHandle) -> None:
    submission = VideoSubmission(
        VideoMode.TEXT, "x", Aspect.LANDSCAPE, VideoSpeed.FAST, 8, seed=1, ultra=True
    )
    jobs = [(await rest.submit_video(ULTRA, submission)).media for _ in range(5)]
    before = simulator.sim.stats.calls("video.status")
    states = await rest.poll_videos(ULTRA, jobs)
    assert simulator.sim.stats.calls("video.status") == before + 1
    assert [s.media for s in states] == jobs


async def test_rest_failed_jobs_carry_their_reason(rest: RestTransport, simulator: SimHandle) -> None:
    simulator.sim.faults.add(
        route="video.submit", kind="video_failed", reason="PUBLIC_ERROR_UNSAFE_GENERATION"
    )
    submission = VideoSubmission(VideoMode.TEXT, "x", Aspect.LANDSCAPE, VideoSpeed.FAST, 8, seed=1)
    submitted = await rest.submit_video(PRO, submission)
    (status,) = await until_done(rest, PRO, [submitted.media])
    assert (status.state, status.reason) == (JobState.FAILED, "PUBLIC_ERROR_UNSAFE_GENERATION")


async def test_rest_upscale_and_extend(rest: RestTransport) -> None:
    base = VideoSubmission(VideoMode.TEXT, "x", Aspect.LANDSCAPE, VideoSpeed.FAST, 8, seed=1, ultra=True)
    done = (await rest.submit_video(ULTRA, base)).media
    await until_done(rest, ULTRA, [done])
    upscaled = (await rest.upscale_video(ULTRA, done, VideoResolution.UHD, Aspect.LANDSCAPE)).media
    extended = (
        await rest.submit_video(
            ULTRA,
            VideoSubmission(
                VideoMode.EXTEND, "go on", Aspect.LANDSCAPE, VideoSpeed.FAST, 8, seed=2, source=done
            ),
        )
    ).media
    states = await until_done(rest, ULTRA, [upscaled, extended])
    assert {s.state for s in states} == {JobState.SUCCEEDED}
    with pytest.raises(up.UpstreamError):  # a Pro account may not upscale to 4K
        await rest.upscale_video(PRO, done, VideoResolution.UHD, Aspect.LANDSCAPE)
