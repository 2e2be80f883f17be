"""How long and how large each mode measures, and the context every scenario shares.

``pair`` is the rule of benchmarks.md: the gateway and its reference are measured in the same run,
alternately (warm-up of each, then gateway, reference, gateway, reference, …), and each side's
median of the repeats is kept (median of the p50s, median of the p99s).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from bench.drivers import Driver, Req, Sample
from bench.procs import Stack
from bench.report import Row


@dataclass(frozen=True)
class Plan:
    """Durations (seconds) and sizes of one mode."""

    quick: bool
    seconds: float  # each measured point
    warmup: float  # before each pair (each side)
    repeats: int  # alternations per pair
    rates: tuple[int, ...]  # M2
    sweep: tuple[int, ...]  # M5 concurrencies
    sweep_seconds: float
    streams: tuple[int, ...]  # M6 steps (cumulative)
    finished_videos: int  # M7's finished ones
    cpu_window: float  # M7 polling CPU
    poll_interval: float  # the gateway's [tasks] poll_interval
    pick_shares: tuple[float, ...]  # M8 cooling shares

    @staticmethod
    def full(seconds: float = 5.0, repeats: int = 3) -> Plan:
        """``make bench``: about 11-12 minutes on 2 cores."""
        return Plan(
            quick=False,
            seconds=seconds,
            warmup=3.0,
            repeats=repeats,
            rates=(250, 500, 1000),
            sweep=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            sweep_seconds=seconds,
            streams=(1000, 5000, 10000),
            finished_videos=64,
            cpu_window=30.0,
            poll_interval=10.0,
            pick_shares=(0.0, 0.5, 0.9),
        )

    @staticmethod
    def quick_plan() -> Plan:
        """``python -m bench --quick``: every row, tiny sizes, the Python client only."""
        return Plan(
            quick=True,
            seconds=0.4,
            warmup=0.1,
            repeats=1,
            rates=(250, 500, 1000),
            sweep=(1, 8, 32),
            sweep_seconds=0.3,
            streams=(10, 30),
            finished_videos=3,
            cpu_window=1.5,
            poll_interval=0.5,
            pick_shares=(0.5,),
        )


@dataclass
class Bench:
    """What the scenarios share: the servers, the load driver, the plan, and what was found."""

    stack: Stack
    driver: Driver
    plan: Plan
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def progress(self, what: str) -> None:
        """A line on stderr, so that a long run shows where it is."""
        sys.stderr.write(f"[bench {time.monotonic() - self.started:6.1f} s] {what}\n")
        sys.stderr.flush()

    @property
    def gw(self) -> str:
        """The gateway's base URL (routes are served at the root too: ``/v1/...``)."""
        return self.stack.gateway.url

    @property
    def ref(self) -> str:
        """The reference's base URL."""
        return self.stack.reference.url

    async def pair(
        self, gateway: Sequence[Req], reference: Sequence[Req], conns: int, *, expect: int = 200
    ) -> tuple[Sample, Sample]:
        """Gateway (whose answers should have status ``expect``) and reference (200), closed loop at
        ``conns``, alternated."""

        async def run(reqs: Sequence[Req], seconds: float) -> Sample:
            status = expect if reqs is gateway else 200
            return await self.driver.closed(reqs, conns, seconds, expect=status)

        return await self.alternate(run, gateway, reference)

    async def alternate(
        self,
        run: Callable[[Sequence[Req], float], Awaitable[Sample]],
        gateway: Sequence[Req],
        reference: Sequence[Req],
    ) -> tuple[Sample, Sample]:
        """Warm both up, then alternate ``repeats`` times; each side's medians."""
        if self.plan.warmup:
            await run(gateway, self.plan.warmup)
            await run(reference, self.plan.warmup)
        ours, theirs = [], []
        for _ in range(self.plan.repeats):
            ours.append(await run(gateway, self.plan.seconds))
            theirs.append(await run(reference, self.plan.seconds))
        return median(ours), median(theirs)


def median(samples: Sequence[Sample]) -> Sample:
    """The median of each figure; requests and errors summed."""
    return Sample(
        statistics.median(s.rps for s in samples),
        statistics.median(s.p50 for s in samples),
        statistics.median(s.p99 for s in samples),
        sum(s.requests for s in samples),
        sum(s.errors for s in samples),
    )


async def answer(req: Req) -> tuple[int, bytes]:
    """One request with a plain client: its status and whole body (sizes the reference; checks it works)."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(req.method, req.url, data=req.body or None, headers=dict(req.headers)) as resp,
    ):
        return resp.status, await resp.read()


async def header_of(req: Req, name: str) -> str | None:
    """One response header of the answer to ``req``."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(req.method, req.url, data=req.body or None, headers=dict(req.headers)) as resp,
    ):
        await resp.read()
        return resp.headers.get(name)


async def sized_like(req: Req, expect: int = 200) -> int:
    """The size of the gateway's answer to ``req``; raises when the status is not ``expect``."""
    status, body = await answer(req)
    if status != expect:
        raise RuntimeError(f"{req.method} {req.url}: HTTP {status}, expected {expect}: {body[:300]!r}")
    return len(body)


def errors_note(*samples: Sample) -> str:
    """A note when some answers were not the expected ones."""
    bad = sum(s.errors for s in samples)
    total = sum(s.requests for s in samples)
    return f"{bad:,} of {total:,} answers were errors" if bad else ""
