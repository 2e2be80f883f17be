"""Redis store: the state of several gateway replicas, shared through one Redis (``[store] url``).

Every key starts with ``[store] prefix`` (default ``flow:``), so several gateways (or a test per
prefix) share one Redis. The layout (``P`` the prefix; a free-form part always last in a name):

- ``P projects``, ``P secrets``, ``P media``: hashes by account id, secret name, media id;
- ``P acc:defs``, ``P acc:states``, ``P rev:accounts``: accounts (``store/redis_accounts.py``);
- ``P lic:*``, ``P rev:licences``, ``P audit:*``: licences and the audit trail (``redis_licences.py``);
- ``P task:<id>``, ``P tasks:*``: tasks and their indexes (``redis_tasks.py``);
- ``P use:<id>``, ``P uses:*``: usage (``redis_usage.py``); ``P dlv:<id>``, ``P dlvs:*``: the
  webhook outbox (``redis_outbox.py``);
- ``P q:*``: the licences' shared counters and holds (``redis_quota.py``);
- ``P changes``: the pub/sub channel on which revisions' moves are announced (``redis_changes.py``);
- ``P slots:*``, ``P rate:*``, ``P made:*``, channel ``P slots``: account slots shared by the
  replicas (``redis_slots.py``); channel ``P health``: accounts' changed states (``redis_health.py``).
- ``P own:<task id>``: the replica running a task (``redis_claims.py``).
- ``P wrk:<account>``, ``P wrks``, ``P rpc:<replica>``, ``P rpl:<replica>``: browser workers'
  presence and relayed calls (``redis_workers.py``).
- ``P signed``: media behind signed URLs that may still open, scored by expiry (``redis_signed.py``).

Anything written as a whole is written atomically (one command, one Lua script or one ``MULTI``).
When Redis does not answer, every operation raises ``StoreUnavailableError`` (503, retry soon)
within the socket timeouts below; the client reconnects by itself once Redis is back. Nothing is
cached here: the layers above cache what they need, and hear of other replicas' changes through
:meth:`RedisStore.wait_for_change`.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.domain import MediaRecord
from gateway.errors import StoreUnavailableError
from gateway.store.redis_accounts import RedisAccounts
from gateway.store.redis_changes import ChangeListener
from gateway.store.redis_claims import RedisTaskClaims
from gateway.store.redis_codec import media_from_json, media_to_json
from gateway.store.redis_facet import DOWN, RETRY_AFTER, as_bytes, as_text, guarded
from gateway.store.redis_health import RedisHealthFeed
from gateway.store.redis_licences import RedisLicences
from gateway.store.redis_outbox import RedisOutbox
from gateway.store.redis_quota import RedisQuota
from gateway.store.redis_scripts import Scripts
from gateway.store.redis_signed import RedisSignedUrls
from gateway.store.redis_slots import TTL as SLOT_TTL
from gateway.store.redis_slots import RedisSlots
from gateway.store.redis_tasks import RedisTasks
from gateway.store.redis_usage import RedisUsage
from gateway.store.redis_workers import RedisWorkerBus

CONNECT_TIMEOUT = 2.0  # seconds: a Redis that is down is reported as such quickly (503)
SOCKET_TIMEOUT = 5.0  # seconds for any one reply (the longest script is a batch of upserts)


@guarded
class RedisStore(RedisLicences, RedisUsage, RedisOutbox, RedisTasks, RedisAccounts, RedisSignedUrls):
    """redis-py (asyncio) implementation of ``Store``, one facet per module."""

    def __init__(self, url: str, *, prefix: str = "flow:") -> None:
        self._url, self._prefix = url, prefix
        self._client: Redis | None = None
        self._loaded: Scripts | None = None
        self._listener: ChangeListener | None = None

    @property
    def _redis(self) -> Redis:
        if self._client is None:
            raise OSError("the Redis store is not open")
        return self._client

    @property
    def _scripts(self) -> Scripts:
        if self._loaded is None:
            raise OSError("the Redis store is not open")
        return self._loaded

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    @property
    def changes(self) -> ChangeListener:
        """The subscription to other replicas' changes (while open)."""
        if self._listener is None:
            raise OSError("the Redis store is not open")
        return self._listener

    async def open(self) -> None:
        """Connect and check that Redis answers (a gateway pointed at no Redis does not start)."""
        # One immediate retry on a broken connection: the first command after a Redis restart meets
        # the pool's stale socket; a Redis still down then fails at once, not after a backoff.
        client = Redis.from_url(
            self._url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )
        try:
            await client.ping()
        except DOWN as exc:
            await client.aclose()
            raise StoreUnavailableError(
                f"Redis does not answer at {_where(client)} ([store] url)", retry_after=RETRY_AFTER
            ) from exc
        self._client, self._loaded = client, Scripts.register(client)
        self._listener = ChangeListener(client, self._key("changes"))
        self._listener.start()

    async def close(self) -> None:
        """Unsubscribe and disconnect."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._client is not None:
            await self._client.aclose()
            self._client, self._loaded = None, None

    def slot_ledger(self, *, ttl: float = SLOT_TTL) -> RedisSlots:
        """Account slots shared by every replica on this Redis and prefix (``redis_slots.py``)."""
        return RedisSlots(lambda: self._redis, self._key, ttl=ttl)

    def health_feed(self) -> RedisHealthFeed:
        """Accounts' changed states told between replicas (``redis_health.py``)."""
        return RedisHealthFeed(lambda: self._redis, self._key)

    def quota_counters(self) -> RedisQuota:
        """The licences' counters every replica shares (``store/redis_quota.py``)."""
        return RedisQuota(self._redis, self._key("q", ""))

    def task_claims(self, *, ttl: float) -> RedisTaskClaims:
        """This replica's claims on the tasks it runs (``store/redis_claims.py``)."""
        return RedisTaskClaims(
            self._redis, self._key, ttl=ttl, document=self._task_document, wait=self.wait_for_change
        )

    def worker_bus(self, replica: str) -> RedisWorkerBus:
        """Browser workers' presence and relayed calls for ``replica`` (``store/redis_workers.py``)."""
        return RedisWorkerBus(
            lambda: self._redis, url=self._url, key=self._key, changes=lambda: self.changes, replica=replica
        )

    async def ping(self) -> bool:
        """True when Redis answers (readiness: False, never an error, while it does not)."""
        try:
            return bool(await self._redis.ping())
        except (*DOWN, OSError):
            return False

    async def wait_for_change(self, topic: str, seconds: float) -> bool:
        """Up to ``seconds``; True as soon as a replica announces a change of ``topic``."""
        return await self.changes.wait(topic, seconds)

    async def get_project(self, account_id: str) -> str | None:
        """The remembered project id."""
        value = as_bytes(await self._redis.hget(self._key("projects"), account_id))
        return value.decode() if value is not None else None

    async def set_project(self, account_id: str, project_id: str) -> None:
        """Remember a project id."""
        await self._redis.hset(self._key("projects"), account_id, project_id)

    async def forget_project(self, account_id: str) -> None:
        """Forget an account's project id."""
        await self._redis.hdel(self._key("projects"), account_id)

    async def get_secret(self, name: str) -> str | None:
        """A kept secret."""
        value = as_bytes(await self._redis.hget(self._key("secrets"), name))
        return value.decode() if value is not None else None

    async def set_secret(self, name: str, value: str) -> None:
        """Keep a secret (replacing any)."""
        await self._redis.hset(self._key("secrets"), name, value)

    async def set_secret_if_absent(self, name: str, value: str) -> str:
        """Keep a secret unless one is kept (``HSETNX``: the first replica wins), then read it back."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self._key("secrets"), name, value)
            pipe.hget(self._key("secrets"), name)
            _, kept = await pipe.execute()
        return as_text(kept)

    async def put_media(self, record: MediaRecord) -> None:
        """Record a stored result."""
        await self._redis.hset(self._key("media"), record.id, media_to_json(record))

    async def get_media(self, media_id: str) -> MediaRecord | None:
        """A stored result's record."""
        raw = as_bytes(await self._redis.hget(self._key("media"), media_id))
        return media_from_json(raw) if raw is not None else None

    async def delete_media(self, media_id: str) -> bool:
        """Forget a stored result."""
        return int(await self._redis.hdel(self._key("media"), media_id)) > 0


def _where(client: Redis) -> str:
    """Where the client connects, without the password the URL may hold."""
    options = client.connection_pool.connection_kwargs
    return str(options.get("path") or f"{options.get('host')}:{options.get('port')}")
