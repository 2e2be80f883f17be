"""Signed URLs' expiries in Redis (``RedisStore``'s facet): one sorted set, ``P signed``, media id
scored by the latest expiry signed for it by any replica (``ZADD GT`` keeps the later one)."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.store.redis_facet import RedisFacet, as_text


class RedisSignedUrls(RedisFacet):
    """Redis-backed ``SignedUrlStore``."""

    async def put_signed_urls(self, expiries: Mapping[str, int]) -> None:
        """Record expiries in one command, keeping an id's later one (``GT`` still adds new ids)."""
        if expiries:
            await self._redis.zadd(self._key("signed"), dict(expiries), gt=True)

    async def signed_media(self, now: float) -> frozenset[str]:
        """Ids whose URL still opens at ``now``; the expired are removed in the same transaction."""
        key = self._key("signed")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", f"({now!r}")
            pipe.zrange(key, 0, -1)
            _, members = await pipe.execute()
        return frozenset(as_text(m) for m in members)
