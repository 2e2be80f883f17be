"""Keeping a finished video: the mp4 (checked to be one) and its poster, in the gateway's media store."""

from __future__ import annotations

from gateway.domain import MediaRecord, UpstreamMedia
from gateway.media.images import sniff_mime
from gateway.media.storage import MediaStore
from gateway.store.base import Store
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.transport import FlowTransport


class VideoKeeper:
    """Stores downloaded videos and posters with records of who owns them."""

    def __init__(self, media: MediaStore, store: Store) -> None:
        self._media = media
        self._store = store

    async def keep_video(self, data: bytes, *, owner: str, account_id: str, job: UpstreamMedia) -> str:
        """The stored mp4's media id (``vid_``); remembers which account's job it is (for re-use)."""
        if data[4:8] != b"ftyp":  # a "video" that is an error page or a JPEG is not a video
            raise up.UpstreamProtocolError("the downloaded video is not an MP4", endpoint="media.download")
        stored = await self._media.put(data, mime="video/mp4", prefix="vid")
        record = MediaRecord(stored.id, owner, stored.mime, stored.size, stored.created_at, account_id, job)
        await self._store.put_media(record)
        return stored.id

    async def keep_poster(self, transport: FlowTransport, url: str | None, *, owner: str) -> str:
        """The stored poster's media id (``pst_``), or "" when there is none (it never fails a video)."""
        if not url:
            return ""
        try:
            data = await transport.download(url)
        except up.UpstreamError:
            return ""
        mime = sniff_mime(data)
        if mime is None or not mime.startswith("image/"):
            return ""
        stored = await self._media.put(data, mime=mime, prefix="pst")
        await self._store.put_media(MediaRecord(stored.id, owner, mime, stored.size, stored.created_at))
        return stored.id
