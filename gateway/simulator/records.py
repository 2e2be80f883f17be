"""flow.google.com's positional records, in the shapes live captures show (research
video-image-rpcs.md §1-§7; the evidence fixtures ``video_*.json`` and ``images.json``).

- a video record is ``[mediaId, projectId, workflowId, "CAE" | null, null, DETAILS, null, MEDIA_INFO]``:
  DETAILS has 14 slots (status list at [8], poster URL at [10] and mp4 size at [13] once done),
  MEDIA_INFO ``[[null, seed, null×5, prompt, videoUrl, null×3, modelKey, …], [w, h, [seconds]], [id]]``;
- a workflow row is ``[workflowId, null, null, [title, [ts], null, null, mediaId, uuid, [ts]], projectId]``;
- an image row is ``[mediaId, null, workflowId, null×3, [DETAILS, null, [w, h]]]``, its DETAILS with the
  seed at [1], the prompt at [7] and the signed URL at [13];
- an upload record is ``[mediaId, projectId, workflowId, "CAE", null, DETAILS, [DETAILS, null, [w, h]]]``.

URLs are only filled in where Flow gives them: a poll (``jwpduf``) carries none, ``as29s`` both.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.simulator.state import Media

DETAIL_SLOTS = 14
# The state at details[8] while a job is not over: 6 submitted (scheduled), 2 running, 3 done.
SUBMITTED: Sequence[object] = (6,)
RUNNING: Sequence[object] = (2,)
DONE: Sequence[object] = (3,)
ARTICLES = frozenset({"a", "an", "the"})


def stamp(seconds: float) -> list[int]:
    """A protobuf timestamp ``[seconds, nanos]``."""
    return [int(seconds), int(seconds % 1 * 1e9)]


def title(prompt: str) -> str:
    """A short display title (Flow derives its own from the prompt; it is not the prompt)."""
    words = prompt.split()
    if len(words) > 1 and words[0].lower() in ARTICLES:
        words = words[1:]
    text = " ".join(words[:3])
    return text[:1].upper() + text[1:]


def workflow_row(media: Media) -> list[object]:
    """The workflow (generation) row that accompanies a created media item."""
    created = stamp(media.created)
    header = [title(media.prompt or media.name), created, None, None, media.name, media.batch, created]
    return [media.workflow, None, None, header, media.project_id]


def video_record(  # noqa: PLR0913 - the record's parts, each optional by state
    media: Media,
    state: Sequence[object],
    *,
    marker: str | None,
    size: tuple[int, int] | None = None,
    mp4_bytes: int | None = None,
    urls: tuple[str, str] | None = None,
) -> list[object]:
    """A video's record; ``size`` and ``mp4_bytes`` once done, ``urls`` (video, poster) in ``as29s``."""
    details: list[object] = [None] * DETAIL_SLOTS
    details[0], details[1] = stamp(media.created), media.prompt
    details[6] = [None, [[media.model, 1, None, None, 2, 1]], [[None, None, [[[media.prompt]]]]], None, 1]
    details[8], details[9], details[11] = list(state), 1, []
    details[13] = mp4_bytes
    head: list[object] = [None, media.seed, None, None, None, None, None, media.prompt, None, None, None]
    head += [None, media.model, "", None, False, 2]
    if urls is not None:
        head[8], details[10] = urls
    width, height = size or (None, None)
    info = [head, [width, height, [media.seconds]], [media.name]]
    return [media.name, media.project_id, media.workflow, marker, None, details, None, info]


def image_details(media: Media, url: str | None) -> list[object]:
    """An image's DETAILS: created [0], seed [1], prompt [7], signed URL [13]."""
    details: list[object] = [None] * DETAIL_SLOTS
    details[0], details[1], details[7], details[13] = stamp(media.created), media.seed, media.prompt, url
    return details


def image_row(media: Media, url: str, size: tuple[int, int]) -> list[object]:
    """One generated image of an ``ogiZ0b`` reply."""
    arm = [image_details(media, url), None, list(size)]
    return [media.name, None, media.workflow, None, None, None, arm]


def upload_record(media: Media, marker: str | None) -> list[object]:
    """An uploaded image's record (``maseQ``); its size where the bytes could be read."""
    details: list[object] = [None] * DETAIL_SLOTS
    details[0], details[8] = stamp(media.created), list(DONE)
    width, height = media.size or (None, None)
    arm = [image_details(media, None), None, [width, height]]
    return [media.name, media.project_id, media.workflow, marker, None, details, arm]
