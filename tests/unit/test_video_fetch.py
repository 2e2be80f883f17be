"""A finished video's download (``VideoKeeper.fetch``): Flow's lagging or expired links are asked for
again a bounded number of times; our own storage being away (S3, Redis) is waited out, backing
off, and the video is kept once storage is back: Flow finished and billed it, so it is not lost."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain import UpstreamMedia
from gateway.errors import BadGatewayError, MediaUnavailableError, StoreUnavailableError
from gateway.media.storage import StoredMedia
from gateway.service.video_media import Fetching, VideoKeeper
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.transport import VideoLinks

JOB = UpstreamMedia("job-1", "project-1")
NOW = Fetching(attempts=3, delay=0.0, storage_waits=4, max_backoff=0.0)


class Transport:
    """Links after ``lagging`` answers of none, each call counted."""

    def __init__(self, lagging: int = 0, failing: int = 0) -> None:
        self.lagging, self.failing, self.asked = lagging, failing, 0

    async def video_links(self, creds: Any, media: UpstreamMedia) -> VideoLinks | None:
        self.asked += 1
        if self.failing:
            self.failing -= 1
            raise up.UpstreamTimeoutError("slow CDN", endpoint="media.links")
        if self.lagging:
            self.lagging -= 1
            return None
        return VideoLinks(f"https://cdn.invalid/{self.asked}.mp4", None)

    async def download_into(self, url: str, write: Any) -> None:
        await write(b"mp4")


class Media:
    """A media store away for its first ``away`` writes."""

    def __init__(self, away: int = 0, error: type[Exception] = MediaUnavailableError) -> None:
        self.away, self.error, self.kept = away, error, 0

    async def put_from(self, fill: Any, *, mime: str, prefix: str, check: Any = None) -> StoredMedia:
        if self.away:
            self.away -= 1
            raise self.error("storage away")
        self.kept += 1
        return StoredMedia(f"vid_{self.kept:026d}", mime, 3, 0.0)


class Store:
    def __init__(self) -> None:
        self.records: list[Any] = []

    async def put_media(self, record: Any) -> None:
        self.records.append(record)


def keeper(media: Media) -> tuple[VideoKeeper, Store]:
    store = Store()
    return VideoKeeper(media, store), store  # type: ignore[arg-type]


async def fetch(keeper_: VideoKeeper, transport: Transport, retry: Fetching = NOW) -> tuple[str, str]:
    return await keeper_.fetch(transport, None, JOB, owner="lic", account_id="acc", retry=retry)  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [MediaUnavailableError, StoreUnavailableError])
async def test_storage_away_is_waited_out_and_the_video_kept(error: type[Exception]) -> None:
    media = Media(away=3, error=error)
    kept, store = keeper(media)
    transport = Transport()
    video_id, poster = await fetch(kept, transport)
    assert video_id.startswith("vid_") and poster == ""
    assert media.kept == 1 and len(store.records) == 1
    assert transport.asked == 4  # the links asked for again each time: a long wait outlives them


async def test_storage_away_for_too_long_fails_with_its_own_error() -> None:
    kept, store = keeper(Media(away=NOW.storage_waits + 1))
    with pytest.raises(MediaUnavailableError):
        await fetch(kept, Transport())
    assert store.records == []


async def test_flow_lagging_then_failing_is_asked_a_bounded_number_of_times() -> None:
    kept, _ = keeper(Media())
    assert (await fetch(kept, Transport(lagging=1, failing=1)))[0].startswith("vid_")
    transport = Transport(lagging=2, failing=1)
    with pytest.raises(BadGatewayError) as caught:
        await fetch(kept, transport)
    assert caught.value.code == "video_unavailable" and transport.asked == NOW.attempts
