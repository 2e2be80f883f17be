"""One pub/sub channel heard in the background: every message handed to a callback, as it comes.

Used for what replicas tell each other many times a second (a slot freed, an account's health
seen): unlike ``redis_changes`` (revisions, compared after a hint), a message here is the news
itself, so whoever listens must also cope with having missed some (the slot mirror expires, the
health feed is a shortcut to what the store keeps). While Redis is away the listener subscribes
again with a backoff, and never stops the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from redis.asyncio import Redis

from gateway.store.redis_facet import DOWN, as_bytes

log = structlog.get_logger("gateway.store.redis")
MIN_BACKOFF, MAX_BACKOFF = 0.5, 10.0  # seconds between attempts to subscribe again
CANCEL_AGAIN = 0.05  # seconds before a cancellation the client swallowed is sent again


class ChannelListener:
    """Subscribes to ``channel`` and calls ``heard`` with each message's data."""

    def __init__(
        self,
        client: Callable[[], Redis],
        channel: str,
        heard: Callable[[bytes], None],
        *,
        subscribed: Callable[[], None] = lambda: None,
    ) -> None:
        self._client, self._channel, self._heard = client, channel, heard
        self._on_subscribed = subscribed  # after every (re)subscription: what was missed meanwhile
        self._task: asyncio.Task[None] | None = None
        self._subscriptions = 0
        self._subscribing = asyncio.Condition()

    def start(self) -> None:
        """Subscribe in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"redis-feed-{self._channel}")

    async def stop(self) -> None:
        """Unsubscribe. Cancelled until it has ended: redis-py swallows a cancellation landing while
        it subscribes (see ``redis_changes``)."""
        task, self._task = self._task, None
        if task is None:
            return
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=CANCEL_AGAIN)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def subscribed(self, times: int = 1) -> None:
        """Wait until subscribed ``times`` times since the start (2: again, after losing Redis)."""
        async with self._subscribing:
            await self._subscribing.wait_for(lambda: self._subscriptions >= times)

    async def _run(self) -> None:
        backoff = MIN_BACKOFF
        while True:
            before = self._subscriptions
            try:
                await self._listen()
            except DOWN as exc:
                if self._subscriptions > before:  # it worked until now: the next attempt comes soon
                    backoff = MIN_BACKOFF
                log.warning("store_feed_unsubscribed", channel=self._channel, error=type(exc).__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _listen(self) -> None:
        async with self._client().pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self._channel)
            async with self._subscribing:
                self._subscriptions += 1
                self._subscribing.notify_all()
            self._on_subscribed()
            async for message in pubsub.listen():
                data = as_bytes(message.get("data"))
                if data is None:
                    continue
                try:
                    self._heard(data)
                except ValueError:  # a malformed message (another version's): not ours to act on
                    log.warning("store_feed_unreadable", channel=self._channel)
