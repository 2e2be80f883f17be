"""The store a configuration asks for (not yet open: ``await store.open()`` at start)."""

from __future__ import annotations

from gateway.config import StoreSettings
from gateway.store.base import Store
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import SqliteStore


def store_for(settings: StoreSettings) -> Store:
    """``memory`` or ``sqlite`` (a Redis backend for several replicas plugs in here)."""
    if settings.backend == "memory":
        return MemoryStore()
    return SqliteStore(settings.path)
