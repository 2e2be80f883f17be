"""Noticing that a client left while its request runs.

aiohttp does not cancel a handler when its client disconnects (and cancelling mid-way would be
worse: work already paid for would be lost). Long handlers watch the connection instead: the event
is set once the transport closes, and the service dispatches nothing more for that client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

CHECK_EVERY = 0.25  # seconds between looks at the connection: cheap, and soon enough to save a dispatch


@contextlib.asynccontextmanager
async def departure(request: web.Request) -> AsyncIterator[asyncio.Event]:
    """An event set when the client's connection closes, for the duration of the block."""
    gone = asyncio.Event()

    async def watch() -> None:
        while not gone.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                gone.set()
                return
            await asyncio.sleep(CHECK_EVERY)

    watcher = asyncio.create_task(watch())
    try:
        yield gone
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
