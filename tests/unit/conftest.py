"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store.base import Store
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import open_sqlite_store
from tests.support.redis_server import open_redis_store


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each backend in turn, for the store's conformance tests (a module may define its own)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "redis":  # a real redis-server (tests/support/redis_server.py)
        async with open_redis_store(request) as redis:
            yield redis
        return
    async with open_sqlite_store(tmp_path / "s.sqlite3") as sqlite:
        yield sqlite
