"""Word of other replicas' changes, through Redis pub/sub.

Every write that moves a revision (account definitions, licences) publishes its topic on the
store's channel in the same script or ``MULTI``. This listener keeps one subscription open and
wakes whoever waits on that topic (the registries' loops, which then compare revisions: a message
is a hint, so one lost while Redis was away costs only the poll interval). After every
(re)subscription every topic is woken once, for what may have been missed while unsubscribed.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from redis.asyncio import Redis

from gateway.store.base import ACCOUNTS_TOPIC, LICENCES_TOPIC, TASKS_TOPIC, WORKERS_TOPIC
from gateway.store.redis_facet import DOWN, as_text

log = structlog.get_logger("gateway.store.redis")
MIN_BACKOFF, MAX_BACKOFF = 0.5, 10.0  # seconds between attempts to subscribe again
CANCEL_AGAIN = 0.05  # seconds before a cancellation the client swallowed is sent again


class ChangeListener:
    """One pub/sub subscription, and an event per topic set when a message names it."""

    def __init__(self, client: Redis, channel: str) -> None:
        self._client, self._channel = client, channel
        self._events = {
            topic: asyncio.Event() for topic in (ACCOUNTS_TOPIC, LICENCES_TOPIC, TASKS_TOPIC, WORKERS_TOPIC)
        }
        self._task: asyncio.Task[None] | None = None
        self._subscriptions = 0
        self._subscribing = asyncio.Condition()

    def start(self) -> None:
        """Subscribe in the background (retrying while Redis is away) until :meth:`stop`."""
        self._task = asyncio.create_task(self._run(), name="redis-changes")

    async def stop(self) -> None:
        """Unsubscribe. The task is cancelled until it has ended: redis-py (8.1) swallows a
        cancellation landing while it subscribes, and the task would then read on for ever."""
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

    async def wait(self, topic: str, seconds: float) -> bool:
        """True as soon as ``topic`` changed (or may have), False after ``seconds``."""
        event = self._events.get(topic)
        if event is None:
            await asyncio.sleep(seconds)
            return False
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            return False
        event.clear()  # after waking: a message arriving while the caller syncs wakes it again
        return True

    async def _run(self) -> None:
        backoff = MIN_BACKOFF
        while True:
            before = self._subscriptions
            try:
                await self._listen()
            except DOWN as exc:
                if self._subscriptions > before:  # it worked until now: the next attempt comes soon
                    backoff = MIN_BACKOFF
                log.warning("store_changes_unsubscribed", error=type(exc).__name__, retry_in=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _listen(self) -> None:
        async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self._channel)
            async with self._subscribing:
                self._subscriptions += 1
                self._subscribing.notify_all()
            for event in self._events.values():
                event.set()
            async for message in pubsub.listen():
                woken = self._events.get(as_text(message.get("data", b"")))
                if woken is not None:
                    woken.set()
