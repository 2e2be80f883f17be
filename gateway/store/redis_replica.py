"""One serving gateway per Redis, until serving state is shared (issue 14, part 2).

The Redis store shares what is *stored* (accounts, licences, tasks, usage, the outbox) between
processes, but each gateway still keeps the pool's leases and concurrency counters, the licences'
rate windows and the ownership of running tasks in its own memory. Two gateways serving from one
Redis would each apply every account's limits on their own, and a gateway starting would resume
(and submit again) the other's queued videos. So a serving gateway holds a lease key, renewed while
it runs; another one waits for it (a rolling restart: the old one releases it when it stops, a
crashed one lets it expire), then gives up with a clear error. The CLI opens the store without a
lease: it changes stored state only.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable

import structlog
from redis.asyncio import Redis

from gateway.errors import StoreUnavailableError
from gateway.store.redis_facet import DOWN

log = structlog.get_logger("gateway.store.redis_replica")

TTL = 15.0  # seconds a lease outlives its holder's last renewal (a crashed gateway's wait)
WAIT = 60.0  # seconds a starting gateway waits for the holder to stop (longer than a drain)
POLL = 1.0
RELEASE_WAIT = 5.0  # seconds a renewal under way may take to finish at release

# Renew or release only what this process holds (compare, then act, in one step).
_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class ReplicaLease:
    """The lease a serving gateway holds on its Redis."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        *,
        ttl: float = TTL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis, self._key, self._ttl = redis, key, ttl
        self._sleep, self._clock = sleep, clock
        self._token = secrets.token_hex(16)
        self._renewer: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def acquire(self, *, wait: float = WAIT) -> None:
        """Take the lease, waiting up to ``wait`` seconds for another holder to go; then keep it."""
        deadline = self._clock() + wait
        while not await self._redis.set(self._key, self._token, nx=True, px=int(self._ttl * 1000)):
            if self._clock() >= deadline:
                raise StoreUnavailableError(
                    "another gateway is serving from this Redis store; several replicas need shared "
                    "leases and task ownership (not built yet): run one replica, or another [store] prefix"
                )
            log.warning("replica_lease_waiting", seconds_left=round(deadline - self._clock()))
            await self._sleep(POLL)
        self._renewer = asyncio.create_task(self._keep(), name="store:replica-lease")

    async def renew(self) -> bool:
        """Extend the lease; False when it was lost (it expired and another gateway took it)."""
        return bool(await self._redis.eval(_RENEW, 1, self._key, self._token, int(self._ttl * 1000)))

    async def release(self) -> None:
        """Stop renewing and give the lease up (a waiting gateway starts at once)."""
        self._stop.set()  # told, not cancelled: redis-py can swallow a cancellation mid-command
        if self._renewer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._renewer), RELEASE_WAIT)
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        with contextlib.suppress(*DOWN):  # Redis away: the lease expires by itself
            await self._redis.eval(_RELEASE, 1, self._key, self._token)

    async def _keep(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ttl / 3):
                    await self._stop.wait()
                return
            try:
                if not await self.renew():
                    log.error("replica_lease_lost", key=self._key)  # Redis lost it: say so loudly
            except DOWN:
                log.warning("replica_lease_not_renewed")  # Redis away; the next round tries again
