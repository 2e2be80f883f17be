"""Word of other replicas' changes, through Redis pub/sub.

Every write that moves a revision (account definitions, licences), a task claim released or seized
and a browser worker's presence moving publishes its topic on the store's channel in the same
script or ``MULTI``. This listener keeps one subscription open (``redis_feed.ChannelListener``) and
wakes whoever waits on that topic (the registries' loops, which then compare revisions: a message
is a hint, so one lost while Redis was away costs only the poll interval). After every
(re)subscription every topic is woken once, for what may have been missed while unsubscribed.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from gateway.store.base import ACCOUNTS_TOPIC, LICENCES_TOPIC, TASKS_TOPIC, WORKERS_TOPIC
from gateway.store.redis_feed import ChannelListener

TOPICS = (ACCOUNTS_TOPIC, LICENCES_TOPIC, TASKS_TOPIC, WORKERS_TOPIC)


class ChangeListener:
    """One pub/sub subscription, and an event per topic set when a message names it."""

    def __init__(self, client: Redis, channel: str) -> None:
        self._events = {topic: asyncio.Event() for topic in TOPICS}
        self._channel = ChannelListener(lambda: client, channel, self._heard, subscribed=self._wake_all)

    def start(self) -> None:
        """Subscribe in the background (retrying while Redis is away) until :meth:`stop`."""
        self._channel.start()

    async def stop(self) -> None:
        """Unsubscribe."""
        await self._channel.stop()

    async def subscribed(self, times: int = 1) -> None:
        """Wait until subscribed ``times`` times since the start (2: again, after losing Redis)."""
        await self._channel.subscribed(times)

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

    def _heard(self, data: bytes) -> None:
        woken = self._events.get(data.decode(errors="replace"))
        if woken is not None:
            woken.set()

    def _wake_all(self) -> None:
        for event in self._events.values():
            event.set()
