"""Solved reCAPTCHA tokens kept ready, so a generation waits for no solver.

A solver takes seconds (often ten or more) per token; on the REST path every generation needs one.
:class:`PrefetchingTokens` wraps a provider and keeps, per (action, site), a few tokens solved
ahead. Tokens are single use and expire (Flow refuses them after about two minutes), so how many it
keeps follows demand, never a fixed number:

- **demand**: tokens taken in the last ``prefetch_window`` seconds give a rate; the target (ready
  plus being solved) is what that rate consumes during one solve (measured, a moving average), plus
  one for bursts; at most ``prefetch_max``; zero when nobody asked lately (idle costs nothing);
- **lifetime**: a token is used only while younger than ``token_ttl``; the target never exceeds what
  the rate consumes in half that time, so ready tokens are expected to be taken well before expiry;
- **waste**: tokens that expired unused are counted; while they exceed ``prefetch_waste`` of the
  tokens solved ahead within the window, no more are solved ahead (a demand that stopped does not
  keep spending).

A request that finds nothing ready takes a solve already under way (it started earlier) or, when
every one under way is promised, solves its own. Solver failures while solving ahead back off
(doubling); they never reach a request, which then solves on its own and sees its own error.
Tokens are keyed by the site's origin: reCAPTCHA binds a token to the site key and the host, not
the project path; the solver's user agent travels with each token (the call presents it).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import structlog

from gateway.config import CaptchaSettings
from gateway.domain import CaptchaAction, CaptchaFailedError, CaptchaToken
from gateway.obs.metrics import GatewayMetrics

log = structlog.get_logger("gateway.captcha.prefetch")
FIRST_BACKOFF = 5.0  # seconds without solving ahead after a failed solve, doubling
MAX_BACKOFF = 300.0
SOLVE_GUESS = 10.0  # seconds a solve is assumed to take before one was measured


class Solver(Protocol):
    """A token provider (``AntiCaptchaProvider``)."""

    name: str

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        """Mint one token."""
        ...


@dataclass(frozen=True, slots=True)
class PrefetchSettings:
    """How many tokens to keep ready and for how long (``[captcha] prefetch*``, ``token_ttl``)."""

    max_ready: int = 8
    token_ttl: float = 90.0
    window: float = 60.0
    waste_budget: float = 0.1


def prefetch_settings(captcha: CaptchaSettings) -> PrefetchSettings:
    """The prefetch numbers of the ``[captcha]`` section."""
    return PrefetchSettings(
        max_ready=captcha.prefetch_max,
        token_ttl=captcha.token_ttl,
        window=captcha.prefetch_window,
        waste_budget=captcha.prefetch_waste,
    )


@dataclass(slots=True)
class _Bucket:
    """The tokens of one (action, site)."""

    website_url: str
    ready: deque[tuple[float, CaptchaToken]] = field(default_factory=deque)  # (solved at, token)
    solving: int = 0
    waiting: deque[asyncio.Future[CaptchaToken]] = field(default_factory=deque)
    demand: deque[float] = field(default_factory=deque)
    ahead: deque[float] = field(default_factory=deque)  # when tokens solved ahead were solved
    wasted: deque[float] = field(default_factory=deque)
    paused_until: float = 0.0
    backoff: float = FIRST_BACKOFF


class PrefetchingTokens:
    """A token source that answers from tokens solved ahead when it can."""

    def __init__(
        self,
        solver: Solver,
        settings: PrefetchSettings,
        *,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = solver.name
        self._solver = solver
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._buckets: dict[tuple[CaptchaAction, str], _Bucket] = {}
        self._solve_seconds = SOLVE_GUESS
        self._tasks: set[asyncio.Task[None]] = set()

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        """A ready token, else one being solved ahead, else a fresh solve; then top the bucket up."""
        now = self._clock()
        bucket = self._bucket(action, website_url)
        bucket.demand.append(now)
        self._expire(bucket, now)
        try:
            if bucket.ready:
                self._count("ready")
                return bucket.ready.popleft()[1]
            if bucket.solving > len(bucket.waiting):  # a solve under way nobody was promised
                self._count("waited")
                waiter: asyncio.Future[CaptchaToken] = asyncio.get_running_loop().create_future()
                bucket.waiting.append(waiter)
                try:
                    return await waiter
                except CaptchaFailedError:
                    pass  # that solve failed: this request solves on its own, and sees its own error
                finally:
                    with contextlib.suppress(ValueError):
                        bucket.waiting.remove(waiter)
            self._count("direct")
            return await self._timed(action, website_url)
        finally:
            self._top_up(action, bucket)

    def ready(self) -> int:
        """Tokens ready now, over every bucket."""
        return sum(len(b.ready) for b in self._buckets.values())

    async def close(self) -> None:
        """Stop solving ahead."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def target(self, action: CaptchaAction, website_url: str) -> int:
        """How many tokens (ready plus being solved) the bucket should hold now."""
        bucket = self._bucket(action, website_url)
        now = self._clock()
        self._expire(bucket, now)
        settings = self._settings
        if not bucket.demand or now < bucket.paused_until:
            return 0
        if len(bucket.wasted) > settings.waste_budget * max(1, len(bucket.ahead)):
            return 0  # more expired unused than the budget allows: wait for the window to pass
        rate = len(bucket.demand) / settings.window
        wanted = math.ceil(rate * self._solve_seconds) + 1
        fresh_enough = math.floor(rate * settings.token_ttl / 2)  # taken well before they expire
        return max(0, min(settings.max_ready, wanted, fresh_enough))

    def _bucket(self, action: CaptchaAction, website_url: str) -> _Bucket:
        parts = urlsplit(website_url)
        key = (action, f"{parts.scheme}://{parts.netloc}")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(website_url)
        return bucket

    def _expire(self, bucket: _Bucket, now: float) -> None:
        horizon = now - self._settings.window
        for times in (bucket.demand, bucket.ahead, bucket.wasted):
            while times and times[0] < horizon:
                times.popleft()
        while bucket.ready and bucket.ready[0][0] < now - self._settings.token_ttl:
            bucket.ready.popleft()
            bucket.wasted.append(now)
            if self._metrics is not None:
                self._metrics.captcha_tokens_wasted.labels(self.name).inc()
        self._gauge()

    def _top_up(self, action: CaptchaAction, bucket: _Bucket) -> None:
        missing = self.target(action, bucket.website_url) - len(bucket.ready) - bucket.solving
        for _ in range(max(0, missing)):
            bucket.solving += 1
            task = asyncio.create_task(self._ahead(action, bucket), name="captcha:prefetch")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _ahead(self, action: CaptchaAction, bucket: _Bucket) -> None:
        try:
            token = await self._timed(action, bucket.website_url)
        except CaptchaFailedError as exc:
            now = self._clock()
            if now >= bucket.paused_until:  # the first failure since a pause ended (not its siblings)
                bucket.paused_until = now + bucket.backoff
                log.warning("captcha_prefetch_failed", action=action.value, pause=bucket.backoff)
                bucket.backoff = min(bucket.backoff * 2, MAX_BACKOFF)
            if bucket.waiting:
                bucket.waiting.popleft().set_exception(exc)
            return
        finally:
            bucket.solving -= 1
        bucket.backoff = FIRST_BACKOFF
        now = self._clock()
        bucket.ahead.append(now)
        while bucket.waiting:
            waiter = bucket.waiting.popleft()
            if not waiter.done():  # a request that left no longer waits
                waiter.set_result(token)
                return
        bucket.ready.append((now, token))
        self._gauge()

    async def _timed(self, action: CaptchaAction, website_url: str) -> CaptchaToken:
        started = self._clock()
        token = await self._solver.solve(action=action, website_url=website_url)
        # A moving average of how long a solve takes: the demand it must cover grows with it.
        self._solve_seconds += 0.2 * (max(0.0, self._clock() - started) - self._solve_seconds)
        return token

    def _count(self, source: str) -> None:
        if self._metrics is not None:
            self._metrics.captcha_tokens_served.labels(self.name, source).inc()

    def _gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.captcha_tokens_ready.labels(self.name).set(self.ready())
