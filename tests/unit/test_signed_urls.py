"""Signed URLs known to every replica: the store facet on each backend, the write-behind writer, and
the retention sweep of one replica sparing what another signed (or what it signed before a restart)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway.domain import MediaRecord
from gateway.errors import StoreUnavailableError
from gateway.media.signing import UrlSigner
from gateway.media.storage import DiskMediaStore
from gateway.service.retention import MediaCleaner, RetentionPolicy
from gateway.service.signed_urls import SignedUrlWriter
from gateway.store.base import Store
from gateway.store.memory import MemoryStore
from gateway.store.redis_store import RedisStore
from gateway.store.sqlite import open_sqlite_store
from tests.support.redis_server import RedisServer, start_server, unique_prefix

DAY = 86400.0
NOW = 100 * DAY
TTL = 3600  # seconds a signed URL opens
POLICY = RetentionPolicy(max_age=7 * DAY, max_total=0, min_age=DAY)  # 20-day-old media is expired


async def test_the_later_expiry_is_kept_and_expired_ids_are_forgotten(store: Store) -> None:
    await store.put_signed_urls({})  # nothing to write: no error
    assert await store.signed_media(0) == frozenset()
    await store.put_signed_urls({"img_a": 100, "img_b": 200, "img_c": 300})
    await store.put_signed_urls({"img_a": 250, "img_b": 150})  # a later expiry wins; an earlier does not
    assert await store.signed_media(100) == {"img_a", "img_b", "img_c"}
    assert await store.signed_media(200) == {"img_a", "img_b", "img_c"}  # expiry == now still opens
    assert await store.signed_media(201) == {"img_a", "img_c"}  # img_b kept 200, not the later 150
    assert await store.signed_media(260) == {"img_c"}
    assert await store.signed_media(0) == {"img_c"}  # the expired were pruned, not just filtered
    await store.put_signed_urls({"img_b": 400})  # signed again after it was forgotten
    assert await store.signed_media(301) == {"img_b"}


class FlakyStore:
    """A ``SignedUrlStore`` whose writes fail while ``away`` is set."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.away = True
        self.writes: list[dict[str, int]] = []

    async def put_signed_urls(self, expiries: Mapping[str, int]) -> None:
        if self.away:
            raise StoreUnavailableError("away")
        self.writes.append(dict(expiries))
        await self.inner.put_signed_urls(expiries)

    async def signed_media(self, now: float) -> frozenset[str]:
        return await self.inner.signed_media(now)


async def test_the_writer_batches_keeps_a_failed_batch_and_writes_it_later() -> None:
    now = [NOW]
    signer = UrlSigner(b"k", ttl=TTL, clock=lambda: now[0])
    flaky = FlakyStore()
    writer = SignedUrlWriter(signer, flaky, clock=lambda: now[0])
    signer.sign("img_old", made_at=NOW - 2 * DAY)
    signer.sign("img_fresh", made_at=NOW - 1)  # spared by its age: never written
    signer.sign("img_gone")
    with pytest.raises(StoreUnavailableError):
        await writer.flush()
    assert writer.held() == 2  # kept, not dropped
    now[0] += 10
    signer.sign("img_old", made_at=NOW - 2 * DAY)  # signed again: the later expiry
    flaky.away = False
    await writer.flush()
    assert flaky.writes == [{"img_old": int(NOW) + 10 + TTL, "img_gone": int(NOW) + TTL}]  # one batch
    assert writer.held() == 0
    await writer.flush()  # nothing new: no write
    assert len(flaky.writes) == 1
    signer.sign("img_last")
    await writer.close()  # shutdown writes what is left
    assert flaky.writes[-1] == {"img_last": int(NOW) + 10 + TTL}


async def test_the_writer_loop_survives_failures_and_drops_only_expired_entries() -> None:
    now = [NOW]
    signer = UrlSigner(b"k", ttl=TTL, clock=lambda: now[0])
    flaky = FlakyStore()
    writer = SignedUrlWriter(signer, flaky, interval=0.01, clock=lambda: now[0])
    signer.sign("img_short")
    now[0] += TTL / 2
    signer.sign("img_long")
    loop = asyncio.create_task(writer.run())
    try:
        with capture_logs() as logs:
            await until(lambda: any(e["event"] == "signed_urls_write_failed" for e in logs))
        now[0] += TTL / 2 + 1  # img_short's URL has expired meanwhile: it protects nothing
        flaky.away = False
        await until(lambda: bool(flaky.writes))
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert flaky.writes == [{"img_long": int(NOW + TTL / 2) + TTL}]


async def until(condition: Callable[[], bool], *, seconds: float = 10.0) -> None:
    """Poll a condition (not a sleep-then-assert): fails after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - a background loop's log or write: no event to wait on
            await asyncio.sleep(0.005)


class Replica:
    """One gateway's share of retention: its signer, writer and cleaner over a shared store and disk."""

    def __init__(self, store: Store, media: DiskMediaStore, now: list[float]) -> None:
        self.signer = UrlSigner(b"k", ttl=TTL, clock=lambda: now[0])
        self.writer = SignedUrlWriter(self.signer, store, clock=lambda: now[0])
        self.cleaner = MediaCleaner(
            media=media, store=store, signer=self.signer, policy=POLICY, clock=lambda: now[0]
        )


async def old_media(media: DiskMediaStore, store: Store, *, age_days: float) -> str:
    stored = await media.put(os.urandom(50), mime="image/jpeg")
    path = await media.path(stored.id)
    assert path is not None
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY))
    await store.put_media(MediaRecord(stored.id, "lic", stored.mime, 50, NOW - age_days * DAY))
    return stored.id


async def on_disk(media: DiskMediaStore) -> set[str]:
    return {e.id for e in await media.entries()}


async def test_a_url_signed_on_one_replica_protects_its_media_from_the_others_sweep(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix, now = unique_prefix(), [NOW]
    media = DiskMediaStore(tmp_path / "media")  # the shared volume
    store_a, store_b = (
        RedisStore(redis_server.url, prefix=prefix),
        RedisStore(redis_server.url, prefix=prefix),
    )
    await store_a.open()
    await store_b.open()
    try:
        a, b = Replica(store_a, media, now), Replica(store_b, media, now)
        signed, _unsigned = [await old_media(media, store_a, age_days=20) for _ in range(2)]
        a.signer.sign(signed, made_at=NOW - 20 * DAY)  # an old result handed out again, on A
        await a.writer.flush()  # what A's loop does within a second
        report = await b.cleaner.sweep()
        assert report.removed == 1 and await on_disk(media) == {signed}  # B spared A's URL
        now[0] += TTL  # the last second the URL opens
        assert (await b.cleaner.sweep()).removed == 0
        now[0] += 1  # expired: B may remove it now
        assert (await b.cleaner.sweep()).removed == 1
        assert await on_disk(media) == set() and await store_a.get_media(signed) is None
    finally:
        await store_a.close()
        await store_b.close()


async def test_without_the_store_record_the_other_replica_would_remove_it(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The witness for the test above: A's signature not yet written (within the write interval)."""
    prefix, now = unique_prefix(), [NOW]
    media = DiskMediaStore(tmp_path / "media")
    store = RedisStore(redis_server.url, prefix=prefix)
    await store.open()
    try:
        a, b = Replica(store, media, now), Replica(store, media, now)
        signed = await old_media(media, store, age_days=20)
        a.signer.sign(signed, made_at=NOW - 20 * DAY)
        assert (await a.cleaner.sweep()).removed == 0  # A's own sweep knows it from its signer
        assert (await b.cleaner.sweep()).removed == 1  # B does not, until A writes it
    finally:
        await store.close()


async def test_a_restart_still_protects_what_was_signed_before_it(tmp_path: Path) -> None:
    now, media, db = [NOW], DiskMediaStore(tmp_path / "media"), tmp_path / "gateway.sqlite3"
    async with open_sqlite_store(db) as store:
        before = Replica(store, media, now)
        signed = await old_media(media, store, age_days=20)
        before.signer.sign(signed, made_at=NOW - 20 * DAY)
        await before.writer.close()  # the shutdown's flush
    async with open_sqlite_store(db) as store:  # a new process: a new signer that signed nothing
        after = Replica(store, media, now)
        assert (await after.cleaner.sweep()).removed == 0
        assert await on_disk(media) == {signed}
        now[0] += TTL + 1
        assert (await after.cleaner.sweep()).removed == 1


async def test_with_redis_away_the_sweep_skips_its_round_and_resumes_after(tmp_path: Path) -> None:
    server = start_server(tmp_path / "redis", keep_data=True)  # its own, to stop and start again
    now, media = [NOW], DiskMediaStore(tmp_path / "media")
    store_a, store_b = RedisStore(server.url, prefix="r:"), RedisStore(server.url, prefix="r:")
    try:
        await store_a.open()
        await store_b.open()
        a, b = Replica(store_a, media, now), Replica(store_b, media, now)
        signed, unsigned = [await old_media(media, store_a, age_days=20) for _ in range(2)]
        server.stop()
        a.signer.sign(signed, made_at=NOW - 20 * DAY)
        with pytest.raises(StoreUnavailableError):
            await a.writer.flush()  # held for the next attempt
        with pytest.raises(StoreUnavailableError):
            await b.cleaner.sweep()
        loop = asyncio.create_task(b.cleaner.run(interval=0.01))
        try:
            with capture_logs() as logs:
                await until(lambda: any(e["event"] == "media_sweep_failed" for e in logs))
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
        assert await on_disk(media) == {signed, unsigned}  # nothing removed it could not check
        server.start()
        await a.writer.flush()  # the held batch lands once Redis is back
        assert (await b.cleaner.sweep()).removed == 1
        assert await on_disk(media) == {signed}
    finally:
        await store_a.close()
        await store_b.close()
        server.stop()
