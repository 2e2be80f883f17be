import asyncio
import base64
import io
import re
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image

from gateway.errors import InvalidRequestError, PayloadTooLargeError
from gateway.media import storage
from gateway.media.checks import MediaCheckError, check_video_bytes
from gateway.media.images import decode_image_string, image_dimensions, sniff_mime
from gateway.media.signing import UrlSigner
from gateway.media.storage import DiskMediaStore, Fill, Write, new_media_id


def encoded(fmt: str, size: tuple[int, int] = (30, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
    ],
)
def test_sniff(fmt: str, mime: str) -> None:
    assert sniff_mime(encoded(fmt)) == mime


def test_sniff_unknown_and_mp4() -> None:
    assert sniff_mime(b"hello world") is None
    assert sniff_mime(b"\0\0\0\x18ftypisom") == "video/mp4"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_dimensions(fmt: str) -> None:
    assert image_dimensions(encoded(fmt, (31, 17))) == (31, 17)


def test_decode_data_url_bare_and_tolerant_base64() -> None:
    png = encoded("PNG")
    b64 = base64.b64encode(png).decode()
    assert decode_image_string(f"data:image/png;base64,{b64}", param="p", max_bytes=10**6).data == png
    assert decode_image_string(b64, param="p", max_bytes=10**6).mime == "image/png"
    wrapped = "\n".join(b64[i : i + 60] for i in range(0, len(b64), 60)).rstrip("=")
    assert decode_image_string(wrapped, param="p", max_bytes=10**6).data == png
    urlsafe = base64.urlsafe_b64encode(png).decode()
    assert decode_image_string(urlsafe, param="p", max_bytes=10**6).data == png


@pytest.mark.parametrize(
    "value", ["%%%", "aGVsbG8gd29ybGQ=", "data:text/plain,hello", "", "data:image/png;base64,"]
)
def test_decode_refusals_name_the_param(value: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        decode_image_string(value, param="image[1]", max_bytes=10**6)
    assert info.value.param == "image[1]"


def test_decode_size_cap_is_checked_before_decoding() -> None:
    with pytest.raises(PayloadTooLargeError) as info:
        decode_image_string("A" * 10_000_000, param="image", max_bytes=1000)
    assert info.value.status == 413


def test_signer() -> None:
    now = [1000.0]
    signer = UrlSigner(b"k", ttl=60, clock=lambda: now[0])
    expires, signature = signer.sign("img_a")
    assert signer.verify("img_a", str(expires), signature)
    assert not signer.verify("img_b", str(expires), signature)
    assert not signer.verify("img_a", str(expires + 1), signature)
    assert not signer.verify("img_a", "soon", signature)
    now[0] += 61
    assert not signer.verify("img_a", str(expires), signature)
    assert not UrlSigner(b"other", ttl=60, clock=lambda: 1000.0).verify("img_a", str(expires), signature)


async def test_disk_store_roundtrip_and_traversal(tmp_path: Path) -> None:
    store = DiskMediaStore(tmp_path)
    png = encoded("PNG")
    stored = await store.put(png, mime="image/png")
    assert stored.id.startswith("img_") and stored.size == len(png)
    assert await store.read(stored.id) == png
    stat = await store.stat(stored.id)
    assert stat is not None and stat.mime == "image/png"
    assert not list(tmp_path.rglob("*.tmp"))  # noqa: ASYNC240 - a test looking at a temp dir
    for bad in ("../../etc/passwd", "img_../../x", "img_" + "a" * 25, "vid_" + "A" * 26):
        assert await store.path(bad) is None
    assert await store.delete(stored.id) is True
    assert await store.read(stored.id) is None
    assert await store.delete(stored.id) is False


def test_media_ids_are_26_base32_characters_and_unique() -> None:
    ids = {new_media_id("img") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"img_[a-z2-7]{26}", media_id) for media_id in ids)


async def test_a_shard_folder_removed_behind_the_store_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DiskMediaStore(tmp_path)
    first = await store.put(b"\x89PNG one", mime="image/png")
    shard = first.id[4:6]  # the next id lands in the same shard, which the store believes exists
    monkeypatch.setattr(storage, "new_media_id", lambda prefix: f"{prefix}_{shard}" + "a" * 24)
    shutil.rmtree(tmp_path)  # e.g. an operator emptied the media folder
    again = await store.put(b"\x89PNG two", mime="image/png")
    assert await store.read(again.id) == b"\x89PNG two" and await store.stat(first.id) is None


def mp4(payload: bytes = b"x" * 64) -> bytes:
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"isom\0\0\0\0"
    return ftyp + struct.pack(">I4s", 8 + len(payload), b"moov") + payload


def pieces_of(data: bytes, size: int) -> Fill:
    async def fill(write: Write) -> None:
        for start in range(0, len(data), size):
            await write(data[start : start + size])

    return fill


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_a_streamed_video_is_stored_whole_after_its_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "FLUSH_BYTES", 100)  # several trips to the disk
    data = mp4(b"y" * 1000)
    store = DiskMediaStore(tmp_path)
    stored = await store.put_from(
        pieces_of(data, 37), mime="video/mp4", prefix="vid", check=check_video_bytes
    )
    assert stored.size == len(data) and stored.id.startswith("vid_")
    assert await store.read(stored.id) == data and len(leftovers(tmp_path)) == 1


@pytest.mark.parametrize("bad", [b"<html>quota</html>", mp4()[:-10], b""])
async def test_a_streamed_download_the_check_rejects_leaves_nothing(tmp_path: Path, bad: bytes) -> None:
    store = DiskMediaStore(tmp_path)
    with pytest.raises(MediaCheckError):
        await store.put_from(pieces_of(bad, 5), mime="video/mp4", prefix="vid", check=check_video_bytes)
    assert leftovers(tmp_path) == []


async def test_a_download_cut_short_or_cancelled_leaves_nothing(tmp_path: Path) -> None:
    store = DiskMediaStore(tmp_path)

    async def broken(write: Write) -> None:
        await write(b"part")
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await store.put_from(broken, mime="video/mp4", prefix="vid")
    started = asyncio.Event()

    async def stalled(write: Write) -> None:
        await write(b"part")
        started.set()
        await asyncio.Event().wait()

    put = asyncio.ensure_future(store.put_from(stalled, mime="video/mp4", prefix="vid"))
    await started.wait()
    put.cancel()
    with pytest.raises(asyncio.CancelledError):
        await put
    assert leftovers(tmp_path) == []
