"""The MediaStore contract, run against every backend: the local disk and an S3 bucket (moto's S3
server over real HTTP). Then what only S3 has: two replicas on one bucket, key prefixes, paging,
multipart uploads, and S3 away or refusing (503 ``media_unavailable``)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import MediaUnavailableError
from gateway.media.checks import MediaCheckError, check_video_bytes
from gateway.media.storage import DiskMediaStore, MediaStore, StoredMedia, Write, new_media_id
from tests.support.redis_server import free_port
from tests.support.s3_server import S3Server, make_bucket, s3_client

MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
BAD_IDS = [
    "../etc/passwd",
    "img_",
    "img_ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "img_" + "a" * 25 + "/",
    "zzz_" + "a" * 26,
]


def mp4(size: int) -> bytes:
    """An MP4 the video check accepts (ftyp, then moov and mdat boxes) of about ``size`` bytes."""
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + b"\0\0\x02\0" + b"isomiso2"
    moov = (8).to_bytes(4, "big") + b"moov"
    body = max(0, size - len(ftyp) - len(moov) - 8)
    mdat = (8 + body).to_bytes(4, "big") + b"mdat" + os.urandom(body)
    return ftyp + moov + mdat


@pytest.fixture(params=["disk", "s3"])
async def media(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStore]:
    if request.param == "disk":
        yield DiskMediaStore(tmp_path / "media")
        return
    from gateway.media.s3 import S3MediaStore

    server: S3Server = request.getfixturevalue("s3_server")
    bucket = await make_bucket(server)
    async with s3_client(server) as client:
        yield S3MediaStore(client, bucket=bucket, prefix="media/")


def pieces(data: bytes, size: int = 300_000) -> Any:
    async def fill(write: Write) -> None:
        for at in range(0, len(data), size):
            await write(data[at : at + size])

    return fill


async def collected(media: MediaStore, stat: StoredMedia, **span: int) -> bytes:
    return b"".join([piece async for piece in media.chunks(stat, **span)])


async def test_put_stat_read_entries_delete(media: MediaStore) -> None:
    before = time.time() - 5
    stored = await media.put(PNG, mime="image/png", prefix="img")
    assert stored.id.startswith("img_") and stored.size == len(PNG)
    stat = await media.stat(stored.id)
    assert stat is not None and (stat.id, stat.mime, stat.size) == (stored.id, "image/png", len(PNG))
    assert stat.created_at >= before
    assert await media.read(stored.id) == PNG
    assert [(e.id, e.mime, e.size) for e in await media.entries()] == [(stored.id, "image/png", len(PNG))]
    assert await media.delete(stored.id) is True
    assert await media.stat(stored.id) is None
    assert await media.read(stored.id) is None
    assert await media.delete(stored.id) is False
    assert await media.entries() == []


async def test_chunks_give_any_range_a_piece_at_a_time(media: MediaStore) -> None:
    data = os.urandom(700_000)  # a few CHUNK_BYTES
    stored = await media.put(data, mime="video/mp4", prefix="vid")
    stat = await media.stat(stored.id)
    assert stat is not None
    assert await collected(media, stat) == data
    assert len([p async for p in media.chunks(stat)]) > 1  # never one piece of the whole
    assert await collected(media, stat, start=4, stop=8) == data[4:8]
    assert await collected(media, stat, start=len(data) - 10) == data[-10:]
    assert await collected(media, stat, start=5, stop=5) == b""
    await media.delete(stored.id)
    with pytest.raises(FileNotFoundError):
        await collected(media, stat)


async def test_put_from_stores_the_whole_stream_once_checked(media: MediaStore) -> None:
    data = mp4(3 * MIB)
    seen: list[int] = []

    def check(content: bytes | Any) -> None:
        seen.append(len(content))
        check_video_bytes(content)

    stored = await media.put_from(pieces(data), mime="video/mp4", prefix="vid", check=check)
    assert seen == [len(data)]  # the check saw it whole, once
    assert (stored.size, await media.read(stored.id)) == (len(data), data)
    found = await media.stat(stored.id)
    assert found is not None and found.mime == "video/mp4"


@pytest.mark.parametrize("bad", [b"", b"<html>not a video</html>", mp4(4096)[:100]])
async def test_a_refused_stream_leaves_nothing(media: MediaStore, bad: bytes) -> None:
    with pytest.raises(MediaCheckError):
        await media.put_from(pieces(bad, 7), mime="video/mp4", prefix="vid", check=check_video_bytes)
    assert await media.entries() == []


async def test_a_stream_cut_short_or_cancelled_leaves_nothing(media: MediaStore) -> None:
    async def broken(write: Write) -> None:
        await write(b"x" * 2 * MIB)
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await media.put_from(broken, mime="video/mp4", prefix="vid")

    started = asyncio.Event()

    async def hangs(write: Write) -> None:
        await write(b"x" * 100)
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(media.put_from(hangs, mime="video/mp4", prefix="vid"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await media.entries() == []


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_ids_are_validated_before_any_name_is_built(media: MediaStore, bad: str) -> None:
    await media.put(PNG, mime="image/png")
    assert await media.stat(bad) is None
    assert await media.read(bad) is None
    assert await media.path(bad) is None
    assert await media.delete(bad) is False
    assert len(await media.entries()) == 1


async def test_an_unknown_id_is_none(media: MediaStore) -> None:
    unknown = new_media_id("img")
    assert (await media.stat(unknown), await media.read(unknown), await media.delete(unknown)) == (
        None,
        None,
        False,
    )


async def test_only_the_disk_store_has_a_local_path(media: MediaStore) -> None:
    stored = await media.put(PNG, mime="image/png")
    path = await media.path(stored.id)
    if isinstance(media, DiskMediaStore):
        assert path is not None and path.read_bytes() == PNG
    else:
        assert path is None  # the API streams it instead


# --- what only S3 has -------------------------------------------------------------------------


async def test_two_replicas_on_one_bucket_see_each_others_media(s3_server: S3Server) -> None:
    from gateway.media.s3 import S3MediaStore

    bucket = await make_bucket(s3_server)
    async with s3_client(s3_server) as one, s3_client(s3_server) as other:
        first = S3MediaStore(one, bucket=bucket, prefix="gw/")
        second = S3MediaStore(other, bucket=bucket, prefix="gw")  # the trailing "/" is implied
        stored = await first.put_from(pieces(mp4(MIB)), mime="video/mp4", prefix="vid")
        assert await second.read(stored.id) == await first.read(stored.id)
        assert [e.id for e in await second.entries()] == [stored.id]
        assert await second.delete(stored.id) is True
        assert await first.stat(stored.id) is None


async def test_keys_stay_under_the_prefix_and_foreign_objects_are_left_alone(s3_server: S3Server) -> None:
    from gateway.media.s3 import S3MediaStore

    bucket = await make_bucket(s3_server)
    async with s3_client(s3_server) as client:
        ours = S3MediaStore(client, bucket=bucket, prefix="a/")
        theirs = S3MediaStore(client, bucket=bucket, prefix="b/")
        stored = await ours.put(PNG, mime="image/png")
        foreign = ["a/notes.txt", f"a/{stored.id}.exe", "a/img_x.png", f"b/{stored.id}.png.part"]
        for key in foreign:
            await client.put_object(Bucket=bucket, Key=key, Body=b"x")
        listed = await client.list_objects_v2(Bucket=bucket)
        assert f"a/{stored.id}.png" in {item["Key"] for item in listed["Contents"]}
        assert [e.id for e in await ours.entries()] == [stored.id]
        assert await theirs.entries() == []
        assert await theirs.stat(stored.id) is None


async def test_entries_page_through_the_listing(s3_server: S3Server) -> None:
    from gateway.media.s3 import S3MediaStore

    bucket = await make_bucket(s3_server)
    async with s3_client(s3_server) as client:
        media = S3MediaStore(client, bucket=bucket, prefix="m/", list_page=2)
        made = {(await media.put(PNG, mime="image/png")).id for _ in range(5)}
        assert {e.id for e in await media.entries()} == made


async def test_a_large_stream_goes_up_in_parts_and_a_refused_one_starts_no_upload(
    s3_server: S3Server,
) -> None:
    from gateway.media.s3 import S3MediaStore

    bucket = await make_bucket(s3_server)
    data = mp4(11 * MIB)
    async with s3_client(s3_server) as client:
        media = S3MediaStore(client, bucket=bucket, prefix="m/", part_size=5 * MIB)  # S3's minimum part
        stored = await media.put_from(
            pieces(data, MIB), mime="video/mp4", prefix="vid", check=check_video_bytes
        )
        head = await client.head_object(Bucket=bucket, Key=f"m/{stored.id}.mp4")
        assert head["ETag"].strip('"').endswith("-3")  # a multipart object of 3 parts
        assert hashlib.sha256(await media.read(stored.id) or b"").digest() == hashlib.sha256(data).digest()
        with pytest.raises(MediaCheckError):
            await media.put_from(
                pieces(data[:-10], MIB), mime="video/mp4", prefix="vid", check=check_video_bytes
            )
        uploads = await client.list_multipart_uploads(Bucket=bucket)
        assert uploads.get("Uploads", []) == []
        assert [e.id for e in await media.entries()] == [stored.id]


async def test_s3_unreachable_is_a_503_at_once(s3_server: S3Server) -> None:
    from gateway.media.s3 import S3MediaStore

    dead = S3Server(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    async with s3_client(dead, max_attempts=1) as client:
        media = S3MediaStore(client, bucket="any", prefix="m/")
        started = time.monotonic()
        with pytest.raises(MediaUnavailableError) as caught:
            await media.put(PNG, mime="image/png")
        with pytest.raises(MediaUnavailableError):
            await media.stat(new_media_id("img"))
        with pytest.raises(MediaUnavailableError):
            await media.entries()
        assert time.monotonic() - started < 10
    error = caught.value
    assert (error.status, error.code, error.retry_after) == (503, "media_unavailable", 2.0)
    assert isinstance(error, OSError)  # the retention loop's "try again next time"


async def test_a_refusing_s3_is_a_503_and_a_missing_object_is_none(s3_server: S3Server) -> None:
    from gateway.media.s3 import S3MediaStore

    async with s3_client(s3_server) as client:
        media = S3MediaStore(client, bucket="no-such-bucket-here", prefix="m/")  # NoSuchBucket: a 404 too
        with pytest.raises(MediaUnavailableError):
            await media.put(PNG, mime="image/png")
        with pytest.raises(MediaUnavailableError):
            await media.stat(new_media_id("img"))
        good = S3MediaStore(client, bucket=await make_bucket(s3_server), prefix="m/")
        assert await good.read(new_media_id("img")) is None


async def test_the_retention_sweep_removes_old_media_from_the_bucket(s3_server: S3Server) -> None:
    from gateway.media.s3 import S3MediaStore
    from gateway.media.signing import UrlSigner
    from gateway.service.retention import MediaCleaner, RetentionPolicy
    from gateway.store.memory import MemoryStore

    bucket = await make_bucket(s3_server)
    later = time.time() + 3 * 3600  # the sweep runs three hours from now: everything is old
    async with s3_client(s3_server) as client:
        media = S3MediaStore(client, bucket=bucket, prefix="m/")
        made = [await media.put(PNG, mime="image/png") for _ in range(3)]
        cleaner = MediaCleaner(
            media=media,
            store=MemoryStore(),
            signer=UrlSigner(b"k" * 32, ttl=60, clock=lambda: later),
            policy=RetentionPolicy(max_age=3600.0, max_total=0, min_age=60.0),
            clock=lambda: later,
        )
        report = await cleaner.sweep()
        assert (report.removed, report.freed, report.remaining) == (3, 3 * len(PNG), 0)
        assert await media.entries() == []
        assert [await media.stat(m.id) for m in made] == [None, None, None]
