from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.domain import MediaRecord, UpstreamMedia
from gateway.store.base import Store
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import open_sqlite_store


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    async with open_sqlite_store(tmp_path / "s.sqlite3") as sqlite:
        yield sqlite


async def test_projects(store: Store) -> None:
    assert await store.get_project("a") is None
    await store.set_project("a", "p1")
    await store.set_project("a", "p2")
    assert await store.get_project("a") == "p2"


async def test_media_records(store: Store) -> None:
    record = MediaRecord("img_1", "lic", "image/jpeg", 10, 5.0, "acc", UpstreamMedia("m", "p"))
    await store.put_media(record)
    assert await store.get_media("img_1") == record
    bare = MediaRecord("img_2", "lic", "image/png", 1, 6.0)
    await store.put_media(bare)
    assert await store.get_media("img_2") == bare
    assert await store.delete_media("img_1") is True
    assert await store.delete_media("img_1") is False
    assert await store.get_media("img_1") is None
    assert await store.ping()


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db" / "s.sqlite3"
    async with open_sqlite_store(path) as first:
        await first.set_project("a", "p1")
    async with open_sqlite_store(path) as second:
        assert await second.get_project("a") == "p1"


async def test_account_records(store: Store) -> None:
    from gateway.domain import AccountRecord

    first = AccountRecord(
        "acc_1", "cooling_down", "rate limited", 10.0, 50.0, 1, 0, 0, "PAYGATE_TIER_TWO", 900, "a@b", 9.0
    )
    await store.put_accounts([first, AccountRecord("acc_2", "active")])
    await store.put_accounts([AccountRecord("acc_2", "disabled", "5 consecutive failures")])
    saved = await store.get_accounts()
    assert saved["acc_1"] == first
    assert (saved["acc_2"].state, saved["acc_2"].reason) == ("disabled", "5 consecutive failures")
