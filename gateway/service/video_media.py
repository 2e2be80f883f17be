"""A video's media in the gateway's store: its inputs as Flow must see them, and, once finished, the
mp4 (checked to be one) and its poster."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from gateway.domain import ImageData, MediaRecord, UpstreamMedia
from gateway.errors import BadGatewayError, MediaUnavailableError, StoreUnavailableError
from gateway.media.checks import MediaCheckError, check_video_bytes, verify_image_bytes
from gateway.media.storage import MediaStore
from gateway.store.base import Store
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.transport import FlowCredentials, FlowTransport

log = structlog.get_logger("gateway.service.video_media")
# Our own storage (the media store, or the store's records) being away is no reason to lose a video
# Flow finished and billed: it waits on Flow's side, so the download is tried again, backing off.
OURS_AWAY = (MediaUnavailableError, StoreUnavailableError)


@dataclass(frozen=True, slots=True)
class Fetching:
    """How a finished video's download is retried: ``attempts`` times when Flow's link lags or has
    expired (``delay`` apart); while our storage is away, up to ``storage_waits`` more times, backing
    off from ``delay`` to ``max_backoff``."""

    attempts: int = 6
    delay: float = 2.0
    storage_waits: int = 20
    max_backoff: float = 60.0


class VideoKeeper:
    """Stores downloaded videos and posters with records of who owns them."""

    def __init__(self, media: MediaStore, store: Store) -> None:
        self._media = media
        self._store = store

    async def fetch(  # noqa: PLR0913 - the job, where it is and whose it is, and how to retry
        self,
        transport: FlowTransport,
        creds: FlowCredentials,
        job: UpstreamMedia,
        *,
        owner: str,
        account_id: str,
        retry: Fetching,
    ) -> tuple[str, str]:
        """A finished job's video and poster, stored: their media ids (the poster's "" if none).
        Flow's links are asked for again at every try, so a wait outlives their expiry."""
        tries = waits = 0
        while tries < retry.attempts:
            try:
                links = await transport.video_links(creds, job)
                if links is not None:
                    video_id = await self.keep_video(
                        transport, links.video, owner=owner, account_id=account_id, job=job
                    )
                    return video_id, await self.keep_poster(transport, links.poster, owner=owner)
                tries += 1
            except up.UpstreamError as exc:  # the URL lagged, or expired before we got to it: ask again
                tries += 1
                log.info("video_link_retry", error=type(exc).__name__, attempt=tries)
            except OURS_AWAY as exc:
                waits += 1
                if waits > retry.storage_waits:
                    raise
                pause = min(retry.delay * 2 ** (waits - 1), retry.max_backoff)
                log.warning("video_store_retry", error=type(exc).__name__, attempt=waits, retry_in=pause)
                await asyncio.sleep(pause)
                continue
            await asyncio.sleep(retry.delay)
        raise BadGatewayError("Flow finished the video but did not publish it", code="video_unavailable")

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
