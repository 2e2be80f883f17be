"""Turning client-supplied image inputs into bytes: URLs, data URLs, base64, files, our own results.

An input that names a result this gateway produced (``img_...``) is read from the media store, and
remembers where Flow already holds it, so the generation can skip the re-upload when the same
account serves it. Results of another licence are treated as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from gateway.domain import ImageData, MediaRecord
from gateway.errors import InvalidRequestError
from gateway.media.images import decode_image_input
from gateway.media.storage import MEDIA_PREFIXES, MediaStore
from gateway.store.base import Store

_MEDIA_ID = re.compile(rf"^({'|'.join(MEDIA_PREFIXES)})_[A-Za-z0-9_-]{{8,64}}$")


@dataclass(frozen=True, slots=True)
class ImageSource:
    """One input as the client gave it: a string (URL, data URL, base64, result id) or file bytes."""

    param: str
    value: str | None = None
    data: ImageData | None = None


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    """The input's bytes, and its record when it is one of our own results."""

    image: ImageData
    record: MediaRecord | None = None


class ImageFetcher(Protocol):
    """Fetches a remote image URL safely (``gateway.media.fetch.RemoteImageFetcher``)."""

    async def fetch(self, url: str, *, param: str) -> ImageData:
        """The image at ``url``, or an ``InvalidRequestError`` naming ``param``."""
        ...


class InputResolver:
    """Resolves ``ImageSource`` values for one owner (licence)."""

    def __init__(self, *, fetcher: ImageFetcher, media: MediaStore, store: Store, max_bytes: int) -> None:
        self._fetcher = fetcher
        self._media = media
        self._store = store
        self._max_bytes = max_bytes

    async def resolve(self, source: ImageSource, *, owner: str) -> ResolvedImage:
        """The image bytes behind ``source``."""
        if source.data is not None:
            return ResolvedImage(source.data)
        value = (source.value or "").strip()
        if not value:
            raise InvalidRequestError("image input is empty", param=source.param, code="invalid_image")
        if value.startswith(("http://", "https://")):
            return ResolvedImage(await self._fetcher.fetch(value, param=source.param))
        if _MEDIA_ID.match(value):
            return await self._own_result(value, source.param, owner)
        return ResolvedImage(await decode_image_input(value, param=source.param, max_bytes=self._max_bytes))

    async def keep(self, resolved: ResolvedImage, *, owner: str) -> str:
        """A media id for an input a task will use later (after a restart too): our own result as it
        is, anything else stored as an ``inp_`` media of the owner."""
        if resolved.record is not None:
            return resolved.record.id
        stored = await self._media.put(resolved.image.data, mime=resolved.image.mime, prefix="inp")
        await self._store.put_media(
            MediaRecord(stored.id, owner, stored.mime, stored.size, stored.created_at)
        )
        return stored.id

    async def _own_result(self, media_id: str, param: str, owner: str) -> ResolvedImage:
        record = await self._store.get_media(media_id)
        data = await self._media.read(media_id) if record is not None and record.owner == owner else None
        if record is None or data is None:
            raise InvalidRequestError(f"no result with id {media_id!r}", param=param, code="invalid_image")
        if not record.mime.startswith("image/"):
            raise InvalidRequestError(f"{media_id!r} is not an image", param=param, code="invalid_image")
        return ResolvedImage(ImageData(data, record.mime), record)
