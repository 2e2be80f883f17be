"""Browser workers across replicas, Redis side: who hosts which account's worker, and the queues
that carry calls to that replica and their results back (``upstream/flow/worker_replicas.py``
routes; this module only moves bytes, and knows nothing of workers' messages).

Layout (``P`` the store's prefix; the free-form part last):

- ``P wrk:<account key>``: a hash (``replica``, ``announcement``: what the worker's hello said of
  the account, no secrets) that expires unless the hosting replica renews it: a replica that dies
  stops being anyone's host within the TTL;
- ``P wrks``: the presence index, a sorted set of account keys scored by their expiry (Redis's
  clock), so that every replica reads all presence in one script;
- ``P rpc:<replica>``: calls for that replica's workers (``LPUSH`` by callers, ``BRPOP`` by the
  replica), each ``<deadline ms>|<payload>``, the deadline on Redis's clock (replicas' clocks may
  disagree); ``P rpl:<replica>``: results for the callers on that replica. Both expire when nobody
  pushes to them, so a dead replica's queues go away with it.

A move of presence publishes ``workers`` on ``P changes`` in the same script (the store's change
listener wakes whoever waits). When Redis does not answer, every method raises
``StoreUnavailableError`` (``guarded``). Blocking pops run on a client of their own, whose socket
timeout outlasts the block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.store.base import WORKERS_TOPIC
from gateway.store.redis_changes import ChangeListener
from gateway.store.redis_facet import as_bytes, as_text, guarded

BLOCK = 2.0  # seconds a pop blocks before its loop looks again (how long a stop may wait)
CONNECT_TIMEOUT = 2.0
QUEUE_TTL_MS = 60_000  # a queue nobody pushes to (a dead replica's) is gone after a minute
CLOCK = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"

# Host accounts: KEYS index, channel; ARGV key prefix, replica, ttl ms, then (account, announcement)
# pairs. Takes an account nobody hosts, renews one this replica hosts, leaves another replica's (it
# is returned: a worker connected to two replicas is hosted by the first, the other takes over when
# it goes). Publishes when something moved.
HOST = f"""{CLOCK}
local ttl, others, moved = tonumber(ARGV[3]), {{}}, 0
for i = 4, #ARGV, 2 do
  local key = ARGV[1] .. ARGV[i]
  local held = redis.call('HMGET', key, 'replica', 'announcement')
  if held[1] and held[1] ~= ARGV[2] then
    others[#others + 1] = ARGV[i]
  else
    if held[1] ~= ARGV[2] or held[2] ~= ARGV[i + 1] then
      redis.call('HSET', key, 'replica', ARGV[2], 'announcement', ARGV[i + 1])
      moved = moved + 1
    end
    redis.call('PEXPIRE', key, ttl)
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
  end
end
if moved > 0 then redis.call('PUBLISH', KEYS[2], '{WORKERS_TOPIC}') end
return others
"""

# Stop hosting: KEYS index, channel; ARGV key prefix, replica, then accounts (only this replica's).
UNHOST = f"""
local moved = 0
for i = 3, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('HGET', key, 'replica') == ARGV[2] then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], ARGV[i])
    moved = moved + 1
  end
end
if moved > 0 then redis.call('PUBLISH', KEYS[2], '{WORKERS_TOPIC}') end
return moved
"""

# All presence: KEYS index; ARGV key prefix. Flat: account, replica, announcement, … (expired
# entries leave the index first).
HOSTS = f"""{CLOCK}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {{}}
for _, account in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local held = redis.call('HMGET', ARGV[1] .. account, 'replica', 'announcement')
  if held[1] then
    out[#out + 1] = account
    out[#out + 1] = held[1]
    out[#out + 1] = held[2]
  end
end
return out
"""

# Queue a call: KEYS queue; ARGV payload, ms the caller waits, queue ttl ms. The deadline is Redis's.
SEND = f"""{CLOCK}
redis.call('LPUSH', KEYS[1], string.format('%d', now + tonumber(ARGV[2])) .. '|' .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return now
"""


@guarded
class RedisWorkerBus:
    """Presence and call queues of one replica (``replica``) on the store's Redis."""

    def __init__(
        self,
        client: Callable[[], Redis],
        *,
        url: str,
        key: Callable[..., str],
        changes: Callable[[], ChangeListener],
        replica: str,
    ) -> None:
        self.replica = replica
        self._client, self._url, self._key, self._changes = client, url, key, changes
        self._blocking: Redis | None = None

    async def open(self) -> None:
        """The client the blocking pops run on (the store's has a socket timeout shorter than a block)."""
        self._blocking = Redis.from_url(
            self._url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=BLOCK + CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )

    async def close(self) -> None:
        """Disconnect the blocking client."""
        blocking, self._blocking = self._blocking, None
        if blocking is not None:
            await blocking.aclose()

    async def host(self, announcements: Mapping[str, bytes], *, ttl: float) -> list[str]:
        """Host (or renew) these accounts for ``ttl`` seconds; those another replica hosts."""
        if not announcements:
            return []
        args: list[str | bytes | int] = [self._key("wrk", ""), self.replica, int(ttl * 1000)]
        for account, announcement in announcements.items():
            args += [account, announcement]
        script = self._redis.register_script(HOST)
        held = await script(keys=[self._key("wrks"), self._key("changes")], args=args)
        return [as_text(account) for account in cast("list[bytes]", held)]

    async def unhost(self, accounts: Sequence[str]) -> None:
        """Stop hosting these accounts (only where this replica is their host)."""
        if accounts:
            script = self._redis.register_script(UNHOST)
            args = [self._key("wrk", ""), self.replica, *accounts]
            await script(keys=[self._key("wrks"), self._key("changes")], args=args)

    async def hosts(self) -> dict[str, tuple[str, bytes]]:
        """Every hosted account: its replica and announcement."""
        script = self._redis.register_script(HOSTS)
        flat = cast("list[bytes]", await script(keys=[self._key("wrks")], args=[self._key("wrk", "")]))
        return {
            as_text(flat[i]): (as_text(flat[i + 1]), as_bytes(flat[i + 2]) or b"")
            for i in range(0, len(flat) - 2, 3)
        }

    async def changed(self, seconds: float) -> bool:
        """Up to ``seconds``; True as soon as some replica's presence moved (or may have)."""
        return await self._changes().wait(WORKERS_TOPIC, seconds)

    async def send(self, replica: str, payload: bytes, *, within: float) -> None:
        """Queue a call for ``replica``, to be run only if it is taken within ``within`` seconds."""
        script = self._redis.register_script(SEND)
        await script(keys=[self._key("rpc", replica)], args=[payload, int(within * 1000), QUEUE_TTL_MS])

    async def receive(self) -> tuple[bytes, float] | None:
        """The oldest call queued for this replica and the seconds its caller still waits (zero or
        less: too late), or None after a while with none."""
        popped = _second(await self._blocking_client.brpop([self._key("rpc", self.replica)], BLOCK))
        if popped is None:
            return None
        deadline, _, payload = popped.partition(b"|")
        seconds, micros = await self._redis.time()
        return payload, (int(deadline) - (seconds * 1000 + micros // 1000)) / 1000

    async def answer(self, replica: str, payload: bytes) -> None:
        """Queue a result for the caller on ``replica``."""
        queue = self._key("rpl", replica)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(queue, payload)
            pipe.pexpire(queue, QUEUE_TTL_MS)
            await pipe.execute()

    async def answers(self) -> bytes | None:
        """The next result for a caller on this replica, or None after a while with none."""
        return _second(await self._blocking_client.blpop([self._key("rpl", self.replica)], BLOCK))

    @property
    def _redis(self) -> Redis:
        return self._client()

    @property
    def _blocking_client(self) -> Redis:
        if self._blocking is None:
            raise OSError("the worker bus is not open")
        return self._blocking


def _second(popped: object) -> bytes | None:
    """The value of a blocking pop's (list, value) reply; None when it timed out."""
    return as_bytes(popped[1]) if isinstance(popped, list | tuple) else None
