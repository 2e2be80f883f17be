"""The store a configuration asks for (not yet open: ``await store.open()`` at start)."""

from __future__ import annotations

from gateway.config import StoreSettings
from gateway.store.base import Store
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import SqliteStore


def store_for(settings: StoreSettings) -> Store:
    """``memory``, ``sqlite`` (one machine) or ``redis`` (several replicas; chosen by ``url``)."""
    if settings.backend == "memory":
        return MemoryStore()
    if settings.backend == "redis":
        # Imported here: redis-py costs a one-machine (SQLite) gateway about 7 MB of RSS for nothing.
        from gateway.store.redis_store import RedisStore  # noqa: PLC0415

        return RedisStore(settings.url, prefix=settings.prefix)
    return SqliteStore(settings.path)
