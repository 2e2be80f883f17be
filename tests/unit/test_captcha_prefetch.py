"""Tokens solved ahead: sized by demand and solve time, never used past their lifetime, paused when
too many expire unused or the solver fails, and a request that finds none ready takes a solve
already under way before it starts its own. A fake clock and a solver the test answers by hand."""

from __future__ import annotations

import asyncio

from gateway.captcha.prefetch import PrefetchingTokens, PrefetchSettings
from gateway.domain import CaptchaAction, CaptchaFailedError, CaptchaToken, Secret
from gateway.obs.metrics import GatewayMetrics

IMAGE = CaptchaAction.IMAGE_GENERATION
SITE = "https://labs.google/fx/tools/flow/project/p1"
OTHER_PROJECT = "https://labs.google/fx/tools/flow/project/p2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class HandSolver:
    """Each solve waits until the test answers it (``answer``) or fails it (``fail``)."""

    name = "hand"

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[CaptchaToken]] = []
        self.calls = 0
        self.asked = asyncio.Event()

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        self.calls += 1
        future: asyncio.Future[CaptchaToken] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        self.asked.set()
        return await future

    def answer(self, n: int | None = None) -> None:
        for future in [f for f in self.pending if not f.done()][:n]:
            future.set_result(CaptchaToken(Secret(f"tok-{self.pending.index(future)}"), "UA/1"))

    def fail(self) -> None:
        for future in [f for f in self.pending if not f.done()]:
            future.set_exception(CaptchaFailedError("solver down"))

    def open(self) -> int:
        return sum(not f.done() for f in self.pending)


async def settle() -> None:
    for _ in range(5):  # let the tasks the last answer woke run to their next wait
        await asyncio.sleep(0)


async def served(tokens: PrefetchingTokens, solver: HandSolver, url: str = SITE) -> CaptchaToken:
    """One request's token, answering the oldest open solves until it has one."""
    request = asyncio.ensure_future(tokens.solve(action=IMAGE, website_url=url))
    await settle()
    while not request.done():
        solver.answer(1)
        await settle()
    return request.result()


def prefetching(
    settings: PrefetchSettings | None = None,
) -> tuple[PrefetchingTokens, HandSolver, Clock, GatewayMetrics]:
    solver, clock, metrics = HandSolver(), Clock(), GatewayMetrics()
    tokens = PrefetchingTokens(solver, settings or PrefetchSettings(), metrics=metrics, clock=clock)
    return tokens, solver, clock, metrics


def count(metrics: GatewayMetrics, source: str) -> float:
    return float(metrics.captcha_tokens_served.labels("hand", source)._value.get())


async def test_a_lone_request_solves_its_own_and_nothing_is_solved_ahead() -> None:
    tokens, solver, _, metrics = prefetching()
    token = await served(tokens, solver)
    await settle()
    assert token.token.reveal() == "tok-0" and solver.calls == 1 and solver.open() == 0
    assert count(metrics, "direct") == 1 and tokens.target(IMAGE, SITE) == 0


async def test_steady_demand_is_served_from_tokens_solved_ahead() -> None:
    tokens, solver, clock, metrics = prefetching()
    for _ in range(6):  # six a minute, ten seconds apart
        await served(tokens, solver)
        clock.now += 10
    assert tokens.target(IMAGE, SITE) >= 2 and solver.open() >= 2  # solving ahead now
    solver.answer()
    await settle()
    ready, calls = tokens.ready(), solver.calls
    token = await tokens.solve(action=IMAGE, website_url=OTHER_PROJECT)  # same site, another project
    assert token.token.reveal().startswith("tok-") and token.user_agent == "UA/1"
    assert tokens.ready() < ready or solver.calls > calls  # taken from the ready ones (and topped up)
    assert count(metrics, "ready") == 1


async def test_a_request_takes_a_solve_already_under_way() -> None:
    tokens, solver, clock, metrics = prefetching()
    for _ in range(6):
        await served(tokens, solver)
        clock.now += 10
    assert solver.open() >= 1
    waited = count(metrics, "waited")
    request = asyncio.ensure_future(tokens.solve(action=IMAGE, website_url=SITE))
    await settle()
    assert not request.done()
    solver.answer(1)  # the oldest solve ahead finishes: it goes to the waiting request
    token = await asyncio.wait_for(request, 1)
    assert token.token.reveal().startswith("tok-") and count(metrics, "waited") == waited + 1


async def test_tokens_past_their_lifetime_are_never_used_and_waste_pauses_solving_ahead() -> None:
    tokens, solver, clock, metrics = prefetching(
        PrefetchSettings(max_ready=4, token_ttl=90, waste_budget=0.1)
    )
    for _ in range(6):
        await served(tokens, solver)
        clock.now += 10
    solver.answer()
    await settle()
    kept = tokens.ready()
    assert kept >= 2
    clock.now += 91  # demand stopped; the ready tokens grow too old
    assert tokens.target(IMAGE, SITE) == 0  # and more than 10 % of those solved ahead expired
    assert metrics.captcha_tokens_wasted.labels("hand")._value.get() == kept
    direct = count(metrics, "direct")
    await served(tokens, solver)
    assert count(metrics, "direct") == direct + 1 and tokens.ready() == 0  # never an expired one


async def test_a_failing_solver_pauses_solving_ahead_and_waiters_solve_on_their_own() -> None:
    tokens, solver, clock, _ = prefetching()
    for _ in range(6):
        await served(tokens, solver)
        clock.now += 10
    request = asyncio.ensure_future(tokens.solve(action=IMAGE, website_url=SITE))
    await settle()
    opened = solver.calls
    solver.fail()  # every solve ahead fails: the waiting request starts its own
    await settle()
    assert solver.calls == opened + 1 and tokens.target(IMAGE, SITE) == 0  # paused (backing off)
    solver.pending[-1].set_result(CaptchaToken(Secret("own"), None))
    assert (await asyncio.wait_for(request, 1)).token.reveal() == "own"
    clock.now += 6
    assert tokens.target(IMAGE, SITE) > 0  # the pause ends


async def test_never_more_than_the_cap_and_close_stops_solving_ahead() -> None:
    tokens, solver, clock, _ = prefetching(PrefetchSettings(max_ready=3))
    for _ in range(60):  # one a second
        await served(tokens, solver)
        clock.now += 1
        solver.answer()
        await settle()
        assert tokens.ready() + solver.open() <= 3
    assert tokens.ready() == 3
    clock.now += 1
    await tokens.solve(action=IMAGE, website_url=SITE)
    await settle()
    await tokens.close()
    assert all(f.cancelled() or f.done() for f in solver.pending)


async def test_actions_are_kept_apart() -> None:
    tokens, solver, clock, _ = prefetching()
    for _ in range(6):
        await served(tokens, solver)
        clock.now += 10
    video = CaptchaAction.VIDEO_GENERATION
    assert tokens.target(IMAGE, SITE) > 0 and tokens.target(video, SITE) == 0
    calls = solver.calls
    request = asyncio.ensure_future(tokens.solve(action=video, website_url=SITE))
    await settle()
    assert solver.calls == calls + 1  # an image token is never handed to a video
    solver.pending[-1].set_result(CaptchaToken(Secret("video"), None))
    assert (await asyncio.wait_for(request, 1)).token.reveal() == "video"
