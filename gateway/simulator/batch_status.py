"""Reading video jobs on the simulator's batchexecute: ``jwpduf`` (poll) and ``as29s`` (one record
with its signed URLs), in the captured shapes (evidence ``video_status.json``; research
video-image-rpcs.md §2-§3).

- ``jwpduf`` ``[null, null, [[id], …]]`` answers ``[null, balance | null, [record, …]]``, records
  without URLs (a finished job shows its mp4 size at details[13] but no link);
- ``as29s`` ``[id]`` answers a bare JSON string (the id) while the job runs, the bare record once it
  is over (video URL at [7][0][8] and poster at [5][10] when it succeeded), ``[5]`` for an id the
  account has no video of.

Status at details[8]: ``[6]`` submitted, ``[2]`` running, ``[3]`` done; a failed job shows its
failure's own list (``[4, [3, "PUBLIC_ERROR_…"], ["REASON"], [1]]``, ``[7, …]`` or ``[5]`` cancelled).
"""

from __future__ import annotations

from typing import Any

from gateway.simulator.batchexecute_core import RpcError
from gateway.simulator.call import Call
from gateway.simulator.records import DONE, RUNNING, SUBMITTED, video_record
from gateway.simulator.state import Media
from gateway.simulator.timeline import ACTIVE, PENDING, SUCCESSFUL

STATES = {PENDING: SUBMITTED, ACTIVE: RUNNING, SUCCESSFUL: DONE}


def owned(call: Call, media_id: Any, kinds: tuple[str, ...]) -> Media:
    """A media item of the calling account and of one of ``kinds``; ``[5]`` otherwise."""
    media = call.world.media.get(media_id) if isinstance(media_id, str) else None
    if media is None or media.owner != call.owner.spec.session_token or media.kind not in kinds:
        raise RpcError(5)
    return media


def signed_url(call: Call, folder: str, name: str) -> str:
    """A signed, expiring CDN URL ``<origin>/<folder>/<name>?Expires=…&KeyName=…&Signature=…``."""
    path = f"/{folder}/{name}"
    return f"{call.origin()}{path}?{call.world.signed_query(path)}"


def record(call: Call, media: Media, *, with_urls: bool = False) -> list[object]:
    """A video job's record as it stands now (URLs only with ``with_urls``, once it succeeded)."""
    status = call.video_status(media)
    marker = call.world.config.record_marker
    if status not in STATES:
        assert media.fail is not None  # the timeline only fails a job that has a failure
        return video_record(media, media.fail.status, marker=marker)
    if status != SUCCESSFUL:
        return video_record(media, STATES[status], marker=marker)
    urls = (signed_url(call, "video", media.name), signed_url(call, "image", media.name))
    return video_record(
        media,
        DONE,
        marker=marker,
        size=call.world.video_size(media),
        mp4_bytes=len(call.world.video_bytes(media)),
        urls=urls if with_urls else None,
    )


async def poll(call: Call, inner: Any, source_path: str) -> object:
    """``jwpduf``: ``[null, null, [[id], …]]`` → ``[null, balance, [record, …]]``."""
    del source_path  # a read: the page polls from wherever it is
    ids = inner[2] if isinstance(inner, list) and len(inner) == 3 and inner[:2] == [None, None] else None
    if not isinstance(ids, list) or not ids or not all(isinstance(r, list) and len(r) == 1 for r in ids):
        raise RpcError(3)
    records = [record(call, owned(call, ref[0], ("video",))) for ref in ids]
    return [None, call.owner.credits or None, records]


async def media_record(call: Call, inner: Any, source_path: str) -> object:
    """``as29s``: ``[id]`` → the id while the job runs, the bare record once it is over."""
    del source_path
    if not isinstance(inner, list) or len(inner) != 1:
        raise RpcError(3)
    media = owned(call, inner[0], ("video",))
    status = call.video_status(media)
    if status in (PENDING, ACTIVE):
        return media.name
    return record(call, media, with_urls=status == SUCCESSFUL)
