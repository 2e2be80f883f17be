"""Result storage in an S3-compatible bucket (AWS S3, MinIO, R2, Ceph...): every replica reads what
any replica stored, with no shared volume.

An object's key is ``<s3_prefix><id>.<ext>``, the id validated exactly as the disk store does (a
client-supplied id never builds an arbitrary key); its extension gives the MIME type back, so a
listing is enough for ``stat`` and ``entries``. ``put_from`` spools the download to a temporary
file (a video is never held whole in memory), runs the check on the whole file, and only then
uploads it, in one request or, above ``part_size``, as a multipart upload whose parts are read from
the spool one at a time: S3 shows an object whole or not at all, so nothing half-written or
refused is ever visible. There is no local path (``path`` is None); the API streams ``chunks``,
ranged GETs relayed a piece at a time. Errors: see ``gateway.media.s3_client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from gateway.config import MediaSettings
from gateway.media.images import extension_for
from gateway.media.s3_client import FAILURES, S3Client, is_missing, open_s3_client, translated
from gateway.media.storage import (
    CHUNK_BYTES,
    Check,
    Fill,
    StoredMedia,
    check_file,
    is_media_id,
    mime_of_extension,
    new_media_id,
    spool,
)

MIB = 1024 * 1024
# Above this a blob goes up as a multipart upload of parts this big (S3's minimum part is 5 MiB),
# so one part at a time is in memory.
PART_SIZE = 8 * MIB
LIST_PAGE = 1000  # ListObjectsV2's maximum


class S3MediaStore:
    """Blobs in one bucket under one key prefix."""

    def __init__(
        self,
        client: S3Client,
        *,
        bucket: str,
        prefix: str,
        part_size: int = PART_SIZE,
        list_page: int = LIST_PAGE,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
        self._part_size = part_size
        self._list_page = list_page

    async def put(self, data: bytes, *, mime: str, prefix: str = "img") -> StoredMedia:
        """Store bytes in one request."""
        media_id = new_media_id(prefix)
        async with translated("put"):
            await self._client.put_object(
                Bucket=self._bucket, Key=self._key(media_id, mime), Body=data, ContentType=mime
            )
        return StoredMedia(media_id, mime, len(data), time.time())

    async def put_from(
        self, fill: Fill, *, mime: str, prefix: str, check: Check | None = None
    ) -> StoredMedia:
        """Spool what ``fill`` writes to a temporary file, check it whole, then upload it."""
        media_id = new_media_id(prefix)
        spool: BinaryIO = await asyncio.to_thread(tempfile.TemporaryFile)
        try:
            size = await _spool(spool, fill)
            if check is not None:
                await asyncio.to_thread(check_file, spool, check)
            await self._upload(spool, self._key(media_id, mime), size=size, mime=mime)
        finally:
            spool.close()  # a plain syscall, not a thread hop: this also runs when cancelled
        return StoredMedia(media_id, mime, size, time.time())

    async def stat(self, media_id: str) -> StoredMedia | None:
        """The blob's metadata, from a listing of its id (one request)."""
        if not is_media_id(media_id):
            return None
        async with translated("stat"):
            page = await self._client.list_objects_v2(
                Bucket=self._bucket, Prefix=f"{self._prefix}{media_id}.", MaxKeys=10
            )
        return next(filter(None, map(self._stored, page.get("Contents", []))), None)

    async def path(self, media_id: str) -> Path | None:
        """None: an object has no local path; readers use ``read`` or ``chunks``."""
        return None

    async def read(self, media_id: str) -> bytes | None:
        """The blob's bytes (images, inputs: small; videos are streamed with ``chunks``)."""
        found = await self.stat(media_id)
        if found is None:
            return None
        try:
            return b"".join([piece async for piece in self.chunks(found)])
        except FileNotFoundError:  # deleted between the listing and the read
            return None

    async def chunks(
        self, media: StoredMedia, *, start: int = 0, stop: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """A ranged GET, relayed ``CHUNK_BYTES`` at a time."""
        last = (media.size if stop is None else stop) - 1
        if last < start:
            return
        async with translated("read"):
            try:
                reply = await self._client.get_object(
                    Bucket=self._bucket, Key=self._key(media.id, media.mime), Range=f"bytes={start}-{last}"
                )
            except ClientError as exc:
                if is_missing(exc):
                    raise FileNotFoundError(media.id) from None
                raise
            async with reply["Body"] as body:
                while piece := await body.read(CHUNK_BYTES):
                    yield piece

    async def delete(self, media_id: str) -> bool:
        """Remove the blob; False when there is none."""
        found = await self.stat(media_id)
        if found is None:
            return False
        async with translated("delete"):
            await self._client.delete_object(Bucket=self._bucket, Key=self._key(found.id, found.mime))
        return True

    async def entries(self) -> list[StoredMedia]:
        """Every blob under the prefix, a ListObjectsV2 page (up to 1,000 keys) per request."""
        found: list[StoredMedia] = []
        token: dict[str, str] = {}
        while True:
            async with translated("list"):
                page = await self._client.list_objects_v2(
                    Bucket=self._bucket, Prefix=self._prefix, MaxKeys=self._list_page, **token
                )
            found.extend(filter(None, map(self._stored, page.get("Contents", []))))
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def _key(self, media_id: str, mime: str) -> str:
        return f"{self._prefix}{media_id}.{extension_for(mime)}"

    def _stored(self, item: dict[str, Any]) -> StoredMedia | None:
        # "<prefix><id>.<ext>" only: anything else under the prefix is not ours to list or remove.
        media_id, _, ext = str(item["Key"]).removeprefix(self._prefix).partition(".")
        mime = mime_of_extension(ext)
        if not is_media_id(media_id) or mime is None:
            return None
        return StoredMedia(media_id, mime, int(item["Size"]), item["LastModified"].timestamp())

    async def _upload(self, spool: BinaryIO, key: str, *, size: int, mime: str) -> None:
        if size <= self._part_size:
            body = await asyncio.to_thread(os.pread, spool.fileno(), size, 0)
            async with translated("put"):
                await self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=mime)
            return
        async with translated("put"):
            started = await self._client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=mime
            )
        upload = {"Bucket": self._bucket, "Key": key, "UploadId": started["UploadId"]}
        try:
            async with translated("put"):
                parts = [await self._part(spool, upload, n, at) for n, at in _parts(size, self._part_size)]
                await self._client.complete_multipart_upload(**upload, MultipartUpload={"Parts": parts})
        except BaseException:
            # Parts of an unfinished upload are invisible but billed: drop them (a bucket lifecycle
            # rule for incomplete multipart uploads catches what a crash here leaves).
            with contextlib.suppress(*FAILURES):
                await asyncio.shield(self._client.abort_multipart_upload(**upload))
            raise

    async def _part(self, spool: BinaryIO, upload: dict[str, str], number: int, at: int) -> dict[str, Any]:
        body = await asyncio.to_thread(os.pread, spool.fileno(), self._part_size, at)
        done = await self._client.upload_part(**upload, PartNumber=number, Body=body)
        return {"ETag": done["ETag"], "PartNumber": number}


def _parts(size: int, part_size: int) -> list[tuple[int, int]]:
    """(part number from 1, offset) of each part of a ``size``-byte upload."""
    return [(n, at) for n, at in enumerate(range(0, size, part_size), start=1)]


async def _spool(handle: BinaryIO, fill: Fill) -> int:
    """Write what ``fill`` gives into ``handle``, flushed; the size written."""
    size, tail = await spool(handle, fill)
    await asyncio.to_thread(handle.write, tail)
    await asyncio.to_thread(handle.flush)
    return size


@contextlib.asynccontextmanager
async def open_s3_media(settings: MediaSettings) -> AsyncIterator[S3MediaStore]:
    """The S3 media store for ``[media]`` settings, its client closed on exit."""
    async with open_s3_client(settings) as client:
        yield S3MediaStore(client, bucket=settings.s3_bucket, prefix=settings.s3_prefix)
