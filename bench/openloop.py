"""Open-loop load in Python (aiohttp, on uvloop when installed) and held SSE streams.

``open_loop`` fires requests at a fixed rate whether or not earlier ones have finished, and times
each from the moment it was due, not from when it was sent: a stalled server shows up as latency
instead of as a quieter generator (no coordinated omission). ``hold_streams`` opens SSE chat streams
and keeps reading them until told to stop.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

from bench.drivers import Req, Sample, percentile


@dataclass
class OpenLoopResult:
    """A :class:`Sample` and the gateway's own ``x-gateway-overhead-ms`` header, where sent."""

    sample: Sample
    overhead_ms: list[float] = field(default_factory=list)


async def open_loop(req: Req, rate: float, seconds: float) -> OpenLoopResult:
    """``rate`` requests per second for ``seconds``; latency measured from each one's due time."""
    latencies: list[float] = []
    overhead: list[float] = []
    errors = 0

    async def one(http: aiohttp.ClientSession, due: float) -> None:
        nonlocal errors
        try:
            async with http.request(
                req.method, req.url, data=req.body or None, headers=dict(req.headers)
            ) as resp:
                await resp.read()
                errors += resp.status >= 300
                if "x-gateway-overhead-ms" in resp.headers:
                    overhead.append(float(resp.headers["x-gateway-overhead-ms"]))
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
        latencies.append((time.perf_counter() - due) * 1e3)

    total = int(rate * seconds)
    tasks = set()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        start = time.perf_counter() + 0.05
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(http, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    sample = Sample(total / seconds, percentile(latencies, 0.5), percentile(latencies, 0.99), total, errors)
    return OpenLoopResult(sample, overhead)


@dataclass
class Streams:
    """Held SSE streams: the session, the reader tasks, how many opened and how many failed."""

    http: aiohttp.ClientSession
    readers: set[asyncio.Task[None]] = field(default_factory=set)
    opened: int = 0
    failed: int = 0
    chunks: int = 0
    task_ids: list[str] = field(default_factory=list)

    async def open(self, req: Req, count: int, *, parallel: int = 200) -> None:
        """Open ``count`` more streams, ``parallel`` at a time; each counts once its first chunk came."""
        gate = asyncio.Semaphore(parallel)

        async def one() -> None:
            first = asyncio.get_running_loop().create_future()
            async with gate:
                reader = asyncio.create_task(self._read(req, first))
                self.readers.add(reader)
                reader.add_done_callback(self.readers.discard)
                await first

        await asyncio.gather(*(one() for _ in range(count)))

    async def _read(self, req: Req, first: asyncio.Future[None]) -> None:
        try:
            async with self.http.request(
                req.method, req.url, data=req.body, headers=dict(req.headers)
            ) as resp:
                if resp.status != 200:
                    self.failed += 1
                    return
                self.task_ids.extend(resp.headers.get("x-flow-task-ids", "").split(","))
                async for line in resp.content:
                    if line.startswith(b"data:"):
                        self.chunks += 1
                        if not first.done():
                            self.opened += 1
                            first.set_result(None)
        except (aiohttp.ClientError, TimeoutError):
            self.failed += 1
        finally:
            if not first.done():
                first.set_result(None)

    async def close(self) -> None:
        """Stop reading: every stream's connection is closed by the client."""
        for reader in list(self.readers):
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        await self.http.close()


def streams_session() -> aiohttp.ClientSession:
    """A session without a connection limit or a timeout (streams stay open as long as asked)."""
    connector = aiohttp.TCPConnector(limit=0)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))
