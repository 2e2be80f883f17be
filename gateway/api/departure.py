"""Noticing that a client left while its request runs.

aiohttp does not cancel a handler when its client disconnects (and cancelling mid-way would be
worse: work already paid for would be lost). Long handlers watch the connection instead: the event
is set once the transport closes, and the service dispatches nothing more for that client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

CHECK_EVERY = 0.25  # seconds between looks at the connection: cheap, and soon enough to save a dispatch
log = structlog.get_logger("gateway.api.departure")


def left(gone: asyncio.Event, on_leave: Callable[[], object] | None = None) -> None:
    """Mark the client gone (once: one log line), and act on it."""
    if gone.is_set():
        return
    gone.set()
    log.info("client_left")
    if on_leave is not None:
        on_leave()


@contextlib.asynccontextmanager
async def departure(
    request: web.Request, on_leave: Callable[[], object] | None = None, *, gone: asyncio.Event | None = None
) -> AsyncIterator[asyncio.Event]:
    """An event (``gone``, or a new one) set when the client's connection closes, for the duration of
    the block; ``on_leave`` runs then (a server that cancels handlers of departed clients raises in
    the block instead)."""
    gone = gone or asyncio.Event()

    async def watch() -> None:
        while not gone.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                left(gone, on_leave)
                return
            await asyncio.sleep(CHECK_EVERY)

    watcher = asyncio.create_task(watch())
    try:
        yield gone
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
