"""A video's media in the gateway's store: its inputs as Flow must see them, and, once finished, the
mp4 (checked to be one) and its poster."""

from __future__ import annotations

from gateway.domain import ImageData, MediaRecord, UpstreamMedia
from gateway.errors import BadGatewayError
from gateway.media.checks import MediaCheckError, check_video_bytes, verify_image_bytes
from gateway.media.storage import MediaStore
from gateway.store.base import Store
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.transport import FlowCredentials, FlowTransport


class VideoKeeper:
    """Stores downloaded videos and posters with records of who owns them."""

    def __init__(self, media: MediaStore, store: Store) -> None:
        self._media = media
        self._store = store

    async def keep_video(
        self, transport: FlowTransport, url: str, *, owner: str, account_id: str, job: UpstreamMedia
    ) -> str:
        """Download the mp4 straight into storage and return its media id (``vid_``); remembers
        which account's job it is (for re-use). Nothing is kept of a failed or rejected download."""
        try:  # a "video" that is an error page, a JPEG or cut short is not a video
            stored = await self._media.put_from(
                lambda write: transport.download_into(url, write),
                mime="video/mp4",
                prefix="vid",
                check=check_video_bytes,
            )
        except MediaCheckError as exc:
            raise up.UpstreamProtocolError(
                f"the downloaded video is not an MP4 ({exc.defect.value})", endpoint="media.download"
            ) from exc
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
        try:
            mime = await verify_image_bytes(data)
        except MediaCheckError:
            return ""  # an error page is no poster
        stored = await self._media.put(data, mime=mime, prefix="pst")
        await self._store.put_media(MediaRecord(stored.id, owner, mime, stored.size, stored.created_at))
        return stored.id


class VideoInputs:
    """A video's input images as Flow must see them for one account: what Flow already holds of
    them for it (our own earlier results), or the gateway's own copy uploaded."""

    def __init__(self, media: MediaStore, store: Store) -> None:
        self._media = media
        self._store = store

    async def held(
        self, account_id: str, creds: FlowCredentials, transport: FlowTransport, media_id: str
    ) -> UpstreamMedia:
        """What Flow holds of the input for this account, else an upload of our copy."""
        record = await self._store.get_media(media_id)
        if record is not None and record.upstream is not None and record.account_id == account_id:
            return record.upstream
        return await self.send(creds, transport, media_id)

    async def send(self, creds: FlowCredentials, transport: FlowTransport, media_id: str) -> UpstreamMedia:
        """Upload the gateway's own copy (what Flow held may be gone with a project it forgot)."""
        record = await self._store.get_media(media_id)
        data = await self._media.read(media_id)
        if record is None or data is None:
            raise BadGatewayError("an input image of this video is no longer stored", code="input_missing")
        return await transport.upload_image(creds, ImageData(data, record.mime))
