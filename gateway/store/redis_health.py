"""Accounts' health as one replica sees it, told to the others at once (Redis pub/sub).

After a replica writes changed account states (``P acc:states``), it publishes their ids on
``P health``; every other replica reads those records (one ``HMGET``) and applies what is shared
(cooldowns, verdicts, refused features, credits). A missed message costs little: the states are
in the store, and the next change of that account brings them again.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence

import structlog
from redis.asyncio import Redis

from gateway.domain import AccountRecord
from gateway.errors import StoreUnavailableError
from gateway.store.redis_codec import record_from_json
from gateway.store.redis_facet import DOWN, RETRY_AFTER, as_bytes, as_text
from gateway.store.redis_feed import ChannelListener

log = structlog.get_logger("gateway.store.redis")
BACKOFF = 1.0  # seconds before reading again after Redis did not answer


class RedisHealthFeed:
    """Publishes this replica's changed accounts; hands other replicas' to ``absorb``."""

    def __init__(self, client: Callable[[], Redis], key: Callable[..., str]) -> None:
        self._client = client
        self._channel, self._states = key("health"), key("acc", "states")
        self._replica = secrets.token_hex(4)
        self._pending: set[str] = set()
        self._heard = asyncio.Event()
        self._listener = ChannelListener(client, self._channel, self._hear)

    async def publish(self, account_ids: Sequence[str]) -> None:
        """Tell the other replicas these accounts' states were just written."""
        if not account_ids:
            return
        try:
            await self._client().publish(self._channel, "\t".join((self._replica, *account_ids)))
        except DOWN as exc:
            raise StoreUnavailableError(
                "the gateway's store is unavailable; retry shortly", retry_after=RETRY_AFTER
            ) from exc

    async def run(self, absorb: Callable[[list[AccountRecord]], object]) -> None:
        """Hand the records other replicas changed to ``absorb`` as they come, until cancelled."""
        self._listener.start()
        try:
            while True:
                await self._heard.wait()
                self._heard.clear()
                ids, self._pending = sorted(self._pending), set()
                try:
                    absorb(await self._records(ids))
                except DOWN as exc:
                    log.warning("account_health_unread", accounts=len(ids), error=type(exc).__name__)
                    await asyncio.sleep(BACKOFF)
        finally:
            await self._listener.stop()

    async def subscribed(self, times: int = 1) -> None:
        """Wait until this replica hears the others (``times``: again after an outage)."""
        await self._listener.subscribed(times)

    async def _records(self, ids: list[str]) -> list[AccountRecord]:
        raws = await self._client().hmget(self._states, ids)
        return [record_from_json(raw) for raw in map(as_bytes, raws) if raw is not None]

    def _hear(self, message: bytes) -> None:
        replica, *ids = as_text(message).split("\t")
        if replica != self._replica and ids:
            self._pending.update(ids)
            self._heard.set()
