"""The video poller with a fake transport and a fake clock: batching per account and project,
terminal states, jobs missing from a reply, and polls that keep failing."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import pytest

from gateway.config import TaskSettings
from gateway.domain import AccountKind, Secret, UpstreamMedia
from gateway.service.poller import VideoPoller
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.transport import FlowCredentials, JobState, VideoJobStatus


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeFlow:
    """Answers polls from a dict of states; records each call's jobs."""

    def __init__(self) -> None:
        self.states: dict[str, JobState] = {}
        self.calls: list[tuple[str, list[str]]] = []
        self.fail_next = 0

    async def poll_videos(
        self, creds: FlowCredentials, jobs: Sequence[UpstreamMedia]
    ) -> list[VideoJobStatus]:
        self.calls.append((creds.account_id, [j.name for j in jobs]))
        if self.fail_next:
            self.fail_next -= 1
            raise up.UpstreamUnavailableError("poll: HTTP 500", endpoint="video.status")
        return [
            VideoJobStatus(
                j, self.states[j.name], "PUBLIC_ERROR_X" if self.states[j.name] is JobState.FAILED else ""
            )
            for j in jobs
            if j.name in self.states
        ]


def creds(account: str) -> FlowCredentials:
    return FlowCredentials(account, Secret(""))


@pytest.fixture
def setup() -> tuple[VideoPoller, FakeFlow, FakeClock]:
    flow, clock = FakeFlow(), FakeClock()
    settings = TaskSettings(poll_interval=5.0, poll_batch=5, max_poll_backoff=20.0)
    return VideoPoller({AccountKind.REST: flow}, settings, clock=clock), flow, clock  # type: ignore[dict-item]


async def watch(
    poller: VideoPoller, account: str, names: list[str], project: str = "p"
) -> list[asyncio.Task]:  # type: ignore[type-arg]
    tasks = [
        asyncio.ensure_future(poller.wait(creds(account), AccountKind.REST, UpstreamMedia(n, project)))
        for n in names
    ]
    await asyncio.sleep(0)
    return tasks


async def test_one_call_per_batch_of_an_account_and_project(
    setup: tuple[VideoPoller, FakeFlow, FakeClock],
) -> None:
    poller, flow, clock = setup
    names = [f"j{i}" for i in range(12)]
    waiters = await watch(poller, "a", names)
    others = await watch(poller, "b", ["k1"])
    elsewhere = await watch(poller, "a", ["m1"], project="q")
    assert await poller.poll_due() == 0  # nothing is due before the first interval
    clock.now += 5
    flow.states.update({n: JobState.RUNNING for n in names} | {"k1": JobState.SUCCEEDED})
    assert await poller.poll_due() == 5  # 12 jobs of (a, p) in 3 calls, (b, p) and (a, q) one each
    assert sorted(len(jobs) for _, jobs in flow.calls) == [1, 1, 2, 5, 5]
    assert (await others[0]).state is JobState.SUCCEEDED
    assert not any(w.done() for w in waiters)
    flow.states.update({n: JobState.SUCCEEDED for n in names[:6]} | {n: JobState.FAILED for n in names[6:]})
    clock.now += 5
    await poller.poll_due()
    results = await asyncio.gather(*waiters)
    assert [r.state for r in results] == [JobState.SUCCEEDED] * 6 + [JobState.FAILED] * 6
    assert results[-1].reason == "PUBLIC_ERROR_X"
    assert poller.stats.watching == 1  # only the job of project q is still watched
    elsewhere[0].cancel()


async def test_jobs_due_soon_ride_along(setup: tuple[VideoPoller, FakeFlow, FakeClock]) -> None:
    poller, flow, clock = setup
    await watch(poller, "a", ["first"])
    clock.now += 2  # submitted 2 s later: due within half an interval of the first
    await watch(poller, "a", ["second"])
    clock.now += 3
    await poller.poll_due()
    assert flow.calls == [("a", ["first", "second"])]


async def test_a_job_missing_from_the_reply_stays_pending(
    setup: tuple[VideoPoller, FakeFlow, FakeClock],
) -> None:
    poller, _, clock = setup
    (waiter,) = await watch(poller, "a", ["ghost"])
    clock.now += 5
    await poller.poll_due()
    assert not waiter.done()
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert poller.stats.watching == 0


async def test_failing_polls_back_off_and_never_fail_a_paid_video(
    setup: tuple[VideoPoller, FakeFlow, FakeClock],
) -> None:
    poller, flow, clock = setup
    (waiter,) = await watch(poller, "a", ["j"])
    flow.fail_next = 100
    calls, times = poller.stats.calls, []
    for _ in range(120):  # ten minutes of a status call that keeps failing, in 5 s steps
        clock.now += 5
        if await poller.poll_due():
            times.append(clock.now)
    assert not waiter.done()  # only Flow or the runner's deadline ends a paid video
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:4] == [5, 10, 20, 20] and max(gaps) == 20  # doubling, capped at max_poll_backoff
    assert poller.stats.calls - calls == len(times) < 40
    flow.fail_next = 0
    flow.states["j"] = JobState.SUCCEEDED
    clock.now += 20
    await poller.poll_due()
    assert (await waiter).state is JobState.SUCCEEDED


async def test_a_worker_away_does_not_fail_the_job(setup: tuple[VideoPoller, FakeFlow, FakeClock]) -> None:
    poller, flow, clock = setup

    async def gone(creds: FlowCredentials, jobs: Sequence[UpstreamMedia]) -> list[VideoJobStatus]:
        raise up.UpstreamWorkerGoneError("no worker serves it", endpoint="batch")

    (waiter,) = await watch(poller, "a", ["j"])
    answer = flow.poll_videos
    flow.poll_videos = gone  # type: ignore[method-assign]
    for _ in range(10):
        clock.now += 5
        await poller.poll_due()
    assert not waiter.done()
    flow.poll_videos = answer  # type: ignore[method-assign]
    flow.states["j"] = JobState.SUCCEEDED
    clock.now += 5
    await poller.poll_due()
    assert (await waiter).state is JobState.SUCCEEDED
