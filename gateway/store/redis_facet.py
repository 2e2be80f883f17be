"""What a Redis facet module needs of the store it is mixed into (the client, key names, the
scripts), and what the facets share: upserting documents with their sorted-set indexes, reading a
field of many documents in one round trip, walking an index a chunk at a time, and turning "Redis
does not answer" into the one error the gateway maps to 503.

Documents are hashes (``doc``, the JSON; ``_idx``, the indexes they are in); an index is a sorted
set whose score is what the listing orders by and whose members are document ids, so Redis orders
ties by id, as SQLite's ``ORDER BY created_at, id`` does.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.errors import StoreUnavailableError
from gateway.store.redis_scripts import Scripts

# Redis is down, unreachable, refusing writes (maxmemory with noeviction, a replica after a
# failover): the caller may retry soon. Any other Redis error is a bug here, left to surface as one.
DOWN = (RedisConnectionError, RedisTimeoutError, OutOfMemoryError, ReadOnlyError)
RETRY_AFTER = 2.0
Entry = tuple[str, float]  # an index member and its score
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Indexed:
    """A document to write: its hash key, its id in the indexes, its fields, its (index, score)s."""

    key: str
    member: str
    fields: Mapping[str, bytes]
    indexes: Sequence[tuple[str, float]]


class RedisFacet:
    """Base of the Redis facet mixins; ``RedisStore`` provides the client, the scripts, the keys."""

    @property
    def _redis(self) -> Redis:
        raise NotImplementedError  # overridden by RedisStore

    @property
    def _scripts(self) -> Scripts:
        raise NotImplementedError  # overridden by RedisStore

    def _key(self, *parts: str) -> str:
        """The store's prefix and ``parts`` joined by ``:`` (a free-form part always comes last)."""
        raise NotImplementedError  # overridden by RedisStore

    async def _upsert(self, documents: Sequence[Indexed]) -> None:
        """Write documents and move their index entries, all in one script (atomic)."""
        if not documents:
            return
        args: list[bytes | str | int] = [len(documents)]
        for doc in documents:
            args += upsert_args(doc)
        await self._scripts.upsert(args=args)

    async def _delete(self, key: str, member: str) -> bool:
        """Delete a document and its index entries (one script); False when there was none."""
        return int(await self._scripts.delete(keys=[key], args=[member])) > 0

    async def _fields(self, keys: Sequence[str], field: str = "doc") -> list[bytes | None]:
        """One field of many hashes, in order, in one round trip (None where a hash is gone)."""
        if not keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(key, field)
            return [as_bytes(value) for value in await pipe.execute()]

    async def _smallest(self, indexes: Sequence[str]) -> str:
        """Of indexes that all hold what a query wants, the one with the fewest members to read."""
        if len(indexes) == 1:
            return indexes[0]
        async with self._redis.pipeline(transaction=False) as pipe:
            for index in indexes:
                pipe.zcard(index)
            sizes = [int(size) for size in await pipe.execute()]
        return min(zip(sizes, range(len(indexes)), indexes, strict=True))[2]

    async def _score(self, index: str, member: str) -> float | None:
        """A member's score (a cursor's position), None when it is not in the index."""
        score = await self._redis.zscore(index, member)
        return None if score is None else float(score)


def upsert_args(doc: Indexed) -> list[bytes | str | int]:
    """One document's part of the upsert script's arguments (``redis_scripts.UPSERT``)."""
    args: list[bytes | str | int] = [doc.key, doc.member, len(doc.fields)]
    for name, value in doc.fields.items():
        args += [name, value]
    args.append(len(doc.indexes))
    for index, score in doc.indexes:
        args += [index, repr(float(score))]
    return args


class IndexCursor:
    """Walks a sorted-set index in (score, member) order, a chunk at a time, from strictly after a
    position. It resumes from the last score it saw plus how many members of that score it has
    passed, so a run of equal scores longer than a chunk is neither skipped nor repeated."""

    def __init__(self, redis: Redis, index: str, *, span: _Span, step: int) -> None:
        self._redis, self._index, self._stop, self._step = redis, index, span.stop, step
        self._descending = span.descending
        self._score, self._passed, self._done = span.start, 0, False
        self._after: Entry | None = None

    @classmethod
    def ascending(
        cls, redis: Redis, index: str, *, low: float = -math.inf, stop: str = "+inf", step: int = 200
    ) -> IndexCursor:
        """Lowest score first, from ``low`` (inclusive) to ``stop`` (a Redis bound: ``(5.0`` excludes)."""
        return cls(redis, index, span=_Span(low, stop, descending=False), step=step)

    @classmethod
    def descending(cls, redis: Redis, index: str, *, step: int = 200) -> IndexCursor:
        """Highest score first, over the whole index."""
        return cls(redis, index, span=_Span(math.inf, "-inf", descending=True), step=step)

    def skip_to(self, after: Entry) -> None:
        """Start strictly after ``after`` (a member and its score), as a page's cursor asks."""
        self._after = after
        self._score = min(self._score, after[1]) if self._descending else max(self._score, after[1])

    async def take(self) -> list[Entry]:
        """The next chunk, in order; empty once the walk is over."""
        while not self._done:
            entries = await self._fetch()
            self._done = len(entries) < self._step
            if entries:
                self._advance(entries)
            fresh = [e for e in entries if self._beyond(e)]
            if fresh:
                return fresh
        return []

    async def _fetch(self) -> list[Entry]:
        near = _bound(self._score)
        if self._descending:
            rows = await self._redis.zrevrangebyscore(
                self._index, near, self._stop, start=self._passed, num=self._step, withscores=True
            )
        else:
            rows = await self._redis.zrangebyscore(
                self._index, near, self._stop, start=self._passed, num=self._step, withscores=True
            )
        pairs = cast("list[tuple[bytes, float]]", rows)  # withscores: (member, score) pairs
        return [(as_text(member), float(score)) for member, score in pairs]

    def _advance(self, entries: list[Entry]) -> None:
        last = entries[-1][1]
        same = sum(1 for _, score in entries if score == last)
        if last == self._score:
            self._passed += same  # the whole chunk had the score we were at
        else:
            self._score, self._passed = last, same

    def _beyond(self, entry: Entry) -> bool:
        if self._after is None:
            return True
        mine, theirs = (entry[1], entry[0]), (self._after[1], self._after[0])
        return mine < theirs if self._descending else mine > theirs


@dataclass(frozen=True, slots=True)
class _Span:
    start: float  # where the walk begins (inclusive); it moves as the walk goes
    stop: str  # the far end, as a Redis bound
    descending: bool


def _bound(score: float) -> str:
    if math.isinf(score):
        return "-inf" if score < 0 else "+inf"
    return repr(score)


def as_bytes(value: object) -> bytes | None:
    """A reply as bytes (the client does not decode replies), None for a missing value."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def as_document(value: object) -> bytes:
    """A reply that must be there (a value of a hash just read whole)."""
    raw = as_bytes(value)
    if raw is None:
        raise ValueError("a stored document is missing")
    return raw


def as_text(value: object) -> str:
    """A reply as text (ids and names are UTF-8)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def guarded(cls: type[T]) -> type[T]:
    """``cls`` with every public coroutine method raising :class:`StoreUnavailableError` (503, retry
    soon) when Redis does not answer, in place of the client's own errors: one place for it."""
    for name in dir(cls):
        method = getattr(cls, name)
        if not name.startswith("_") and inspect.iscoroutinefunction(method):
            setattr(cls, name, _guard(method))
    return cls


def _guard(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except DOWN as exc:
            raise StoreUnavailableError(
                "the gateway's store is unavailable; retry shortly", retry_after=RETRY_AFTER
            ) from exc

    return call
