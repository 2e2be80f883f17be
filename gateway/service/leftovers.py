"""Work that outlives its request: the client left, but what was already dispatched (and paid for)
runs to its end and is kept.

A handler hands the still-running job over (``adopt``) with what to do with its result; the app
waits for adopted jobs at shutdown (bounded) and cancels what remains. Failures are logged, never
raised: nobody is waiting for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from gateway.errors import GatewayError

log = structlog.get_logger("gateway.service.leftovers")
T = TypeVar("T")


class Leftovers:
    """The jobs of departed clients, finishing in the background."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def adopt(self, job: asyncio.Future[T], then: Callable[[T], Awaitable[None]]) -> None:
        """Let ``job`` finish, then run ``then`` on its result."""
        task = asyncio.ensure_future(self._finish(job, then))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish(self, job: asyncio.Future[T], then: Callable[[T], Awaitable[None]]) -> None:
        try:
            result = await job
            await then(result)
        except GatewayError as exc:
            log.info("departed_job_failed", code=exc.code)

    async def close(self, *, grace: float = 10.0) -> None:
        """Wait up to ``grace`` seconds for adopted jobs, then cancel the rest."""
        if not self._tasks:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
