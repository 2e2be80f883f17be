"""Result storage: a blob store Protocol and its local-disk implementation.

Ids are random (``img_…``/``vid_…``) and validated before any path is built, so a client-supplied
id can never leave the root. Writes go to a temporary file then ``os.replace`` (atomic), in a
thread so large files never block the event loop. ``put_from`` stores a download as it arrives
(a video is never held whole in memory), checked on disk before it becomes visible. ``entries``
lists what is stored (for the retention sweep); a write in progress (its temporary file) is never
listed. Another implementation (``gateway.media.s3``) keeps blobs in an S3-compatible bucket, for
replicas that share no volume; it has no local path, so the API streams its ``chunks``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import mmap
import os
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from gateway.media.images import EXTENSIONS, extension_for

# Stored media kinds: results (img, vid), inputs kept for tasks (inp), video posters (pst).
MEDIA_PREFIXES = ("img", "vid", "inp", "pst")
_ID = re.compile(rf"^({'|'.join(MEDIA_PREFIXES)})_[a-z0-9]{{26}}$")
_MIME_OF = {ext: mime for mime, ext in EXTENSIONS.items()}
FLUSH_BYTES = 1024 * 1024  # a streamed write goes to disk (one thread hop) per this much
CHUNK_BYTES = 256 * 1024  # a blob is read back, for a response, this much at a time
Write = Callable[[bytes], Awaitable[None]]
Fill = Callable[[Write], Awaitable[None]]  # calls ``write`` with each piece, in order
Check = Callable[[bytes | mmap.mmap], object]  # raises when the whole content is not acceptable


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A stored blob."""

    id: str
    mime: str
    size: int
    created_at: float


class MediaStore(Protocol):
    """Where results live."""

    async def put(self, data: bytes, *, mime: str, prefix: str = "img") -> StoredMedia:
        """Store bytes under a new id."""
        ...

    async def put_from(
        self, fill: Fill, *, mime: str, prefix: str, check: Check | None = None
    ) -> StoredMedia:
        """Store what ``fill`` writes, piece by piece, under a new id once ``check`` accepts it whole;
        nothing is kept when ``fill`` or ``check`` raises."""
        ...

    async def stat(self, media_id: str) -> StoredMedia | None:
        """The blob's metadata, or None."""
        ...

    async def path(self, media_id: str) -> Path | None:
        """A local path for sendfile, or None."""
        ...

    async def read(self, media_id: str) -> bytes | None:
        """The bytes, or None."""
        ...

    def chunks(
        self, media: StoredMedia, *, start: int = 0, stop: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The bytes ``start`` to ``stop`` (exclusive; None: the end) of a blob ``stat`` found, a piece at
        a time (never the whole blob in memory); raises ``FileNotFoundError`` when it is gone since."""
        ...

    async def delete(self, media_id: str) -> bool:
        """Remove the blob; False when unknown."""
        ...

    async def entries(self) -> list[StoredMedia]:
        """Every stored blob, in no particular order."""
        ...


def is_media_id(media_id: str) -> bool:
    """True for an id the gateway could have made: only these ever become a file name or an object key."""
    return _ID.match(media_id) is not None


def mime_of_extension(ext: str) -> str | None:
    """The MIME type stored under a file extension, or None for a name no blob of ours has."""
    return _MIME_OF.get(ext)


def check_file(handle: BinaryIO, check: Check) -> None:
    """Run ``check`` on a whole written file, mapped: the check reads what it needs, never a copy."""
    if os.fstat(handle.fileno()).st_size == 0:
        check(b"")  # an empty file cannot be mapped
        return
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
        check(view)


async def spool(handle: BinaryIO, fill: Fill) -> tuple[int, bytes]:
    """Write what ``fill`` gives into ``handle``, a thread hop per ``FLUSH_BYTES``; the size given and
    the tail not written yet (the caller writes it with whatever else it does in its last hop)."""
    pending: list[bytes] = []
    size = held = 0

    async def write(piece: bytes) -> None:
        nonlocal size, held
        pending.append(piece)
        size, held = size + len(piece), held + len(piece)
        if held >= FLUSH_BYTES:
            data, held = b"".join(pending), 0
            pending.clear()
            await asyncio.to_thread(handle.write, data)

    await fill(write)
    return size, b"".join(pending)


def new_media_id(prefix: str) -> str:
    """``<prefix>_`` and 26 random lowercase base32 characters (128 bits from one ``urandom`` call)."""
    return f"{prefix}_" + base64.b32encode(os.urandom(16)).decode("ascii").rstrip("=").lower()


class DiskMediaStore:
    """Blobs on local disk, sharded by the first two characters of the random part."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._shards: set[Path] = set()  # shard folders known to exist: no mkdir per write

    async def put(self, data: bytes, *, mime: str, prefix: str = "img") -> StoredMedia:
        """Store bytes atomically."""
        media_id = new_media_id(prefix)
        target = self._file(media_id, extension_for(mime))
        known = target.parent in self._shards
        await asyncio.to_thread(_write_atomic, target, data, known_folder=known)
        self._shards.add(target.parent)
        return StoredMedia(media_id, mime, len(data), time.time())

    async def put_from(
        self, fill: Fill, *, mime: str, prefix: str, check: Check | None = None
    ) -> StoredMedia:
        """Stream into a temporary file (a thread hop per ``FLUSH_BYTES``), check it, then rename."""
        media_id = new_media_id(prefix)
        target = self._file(media_id, extension_for(mime))
        if target.parent not in self._shards:
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            self._shards.add(target.parent)
        tmp = _tmp_of(target)
        handle: BinaryIO = await asyncio.to_thread(tmp.open, "wb")
        try:
            size, tail = await spool(handle, fill)
            await asyncio.to_thread(_finish, handle, tail, tmp, target, check)
        except BaseException:
            handle.close()  # plain syscalls, not a thread hop: this also runs when cancelled
            tmp.unlink(missing_ok=True)
            raise
        return StoredMedia(media_id, mime, size, time.time())

    async def stat(self, media_id: str) -> StoredMedia | None:
        """Metadata from the file system."""
        found = await self.path(media_id)
        if found is None:
            return None
        info = await asyncio.to_thread(found.stat)
        return StoredMedia(
            media_id, _MIME_OF.get(found.suffix[1:], "application/octet-stream"), info.st_size, info.st_mtime
        )

    async def path(self, media_id: str) -> Path | None:
        """The file holding the blob."""
        if not _ID.match(media_id):
            return None
        return await asyncio.to_thread(_find, self._root / media_id[4:6], media_id)

    async def read(self, media_id: str) -> bytes | None:
        """The blob's bytes."""
        found = await self.path(media_id)
        return await asyncio.to_thread(found.read_bytes) if found is not None else None

    async def chunks(
        self, media: StoredMedia, *, start: int = 0, stop: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The file's bytes read in a thread, ``CHUNK_BYTES`` per hop (the API sends ``path`` instead)."""
        found = self._file(media.id, extension_for(media.mime))
        handle: BinaryIO = await asyncio.to_thread(found.open, "rb")
        try:
            left = (media.size if stop is None else stop) - start
            while left > 0:
                piece = await asyncio.to_thread(os.pread, handle.fileno(), min(CHUNK_BYTES, left), start)
                if not piece:
                    return
                yield piece
                start, left = start + len(piece), left - len(piece)
        finally:
            handle.close()

    async def delete(self, media_id: str) -> bool:
        """Remove the blob."""
        found = await self.path(media_id)
        if found is None:
            return False
        await asyncio.to_thread(found.unlink, missing_ok=True)
        return True

    async def entries(self) -> list[StoredMedia]:
        """Every stored blob, read from the disk in a thread (``created_at`` is the file's mtime)."""
        return await asyncio.to_thread(_scan, self._root)

    def _file(self, media_id: str, ext: str) -> Path:
        return self._root / media_id[4:6] / f"{media_id}.{ext}"


def _find(folder: Path, media_id: str) -> Path | None:
    for ext in _MIME_OF:
        candidate = folder / f"{media_id}.{ext}"
        if candidate.is_file():
            return candidate
    return None


def _scan(root: Path) -> list[StoredMedia]:
    if not root.is_dir():
        return []
    with os.scandir(root) as entries:
        shards = [e.path for e in entries if e.is_dir()]
    found: list[StoredMedia] = []
    for shard in shards:
        with os.scandir(shard) as entries:
            found.extend(media for media in map(_stored, entries) if media is not None)
    return found


def _stored(entry: os.DirEntry[str]) -> StoredMedia | None:
    # "<id>.<ext>" only: a temporary file ("<id>.<ext>.<hex>.tmp") is a write in progress.
    media_id, _, ext = entry.name.partition(".")
    if not _ID.match(media_id) or ext not in _MIME_OF:
        return None
    try:
        info = entry.stat()
    except FileNotFoundError:  # removed meanwhile (a task deleted)
        return None
    return StoredMedia(media_id, _MIME_OF[ext], info.st_size, info.st_mtime)


_TMP_NAMES = itertools.count()


def _tmp_of(target: Path) -> Path:
    # The id is already unique; the suffix only keeps two writers of one id (never the case) apart.
    return target.with_suffix(f"{target.suffix}.{os.getpid()}-{next(_TMP_NAMES)}.tmp")


def _finish(handle: BinaryIO, rest: bytes, tmp: Path, target: Path, check: Check | None) -> None:
    handle.write(rest)
    handle.close()
    if check is not None:
        with tmp.open("rb") as done:
            check_file(done, check)
    os.replace(tmp, target)


def _write_atomic(target: Path, data: bytes, *, known_folder: bool) -> None:
    if not known_folder:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_of(target)
    try:
        tmp.write_bytes(data)
    except FileNotFoundError:  # the folder was removed behind our back: make it again
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
    os.replace(tmp, target)
