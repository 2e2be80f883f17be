"""Positional payloads of the flow.google.com RPCs and readers of their replies (flow-migration.md §2.5-§2.6).

Each builder returns the inner payload (a JSON-able list) with :data:`CAPTCHA_PLACEHOLDER` where the
single-use token goes; the worker substitutes it in the page. Codes that sources disagree on come
from ``BatchSettings`` (config), never from literals here. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gateway.config import BatchSettings
from gateway.domain import Aspect, GeneratedImage, ImageData, ImageResolution, UpstreamMedia
from gateway.upstream.flow.batch import CAPTCHA_PLACEHOLDER
from gateway.upstream.flow.errors import UpstreamProtocolError
from gateway.upstream.flow.transport import ImageGenerationRequest, JobState, VideoJobStatus, VideoLinks

RPC_IMAGE = "ogiZ0b"
RPC_UPLOAD = "maseQ"
RPC_IMAGE_UPSCALE = "SPrCad"
RPC_TEXT_TO_VIDEO = "YhhmEf"
RPC_START_FRAME = "eb1hJf"
RPC_START_END = "nprQif"
RPC_REFERENCES = "MZZa6b"
RPC_POLL = "jwpduf"
RPC_MEDIA = "as29s"
RPC_VIDEO_UPSCALE = "p0UkFb"
RPC_EXTEND = "fZytfe"
INPUT_BASE, INPUT_REFERENCE = 2, 1
UPSCALE_CODES = {ImageResolution.R2K: 1, ImageResolution.R4K: 2}
DEFAULT_CROP = [None, 0.0039, 1, 0.9961]
_IMAGE_URL = re.compile(r"^https?://[^/]+/image/(?P<id>[A-Za-z0-9_-]+)")
_VIDEO_URL = re.compile(r"^https?://[^/]+/video/(?P<id>[A-Za-z0-9_-]+)")


def new_uuid() -> str:
    """Upper-case UUID4, as the Flow page sends them."""
    return str(uuid.uuid4()).upper()


def project_path(project_id: str) -> str:
    """The ``source-path`` of calls scoped to a project."""
    return f"/project/{project_id}"


def context(project_id: str | None, settings: BatchSettings) -> list[object]:
    """The shared context block; the token slot holds the placeholder."""
    return [
        None,
        settings.tool_code,
        None,
        None,
        None,
        project_id,
        None,
        None,
        None,
        None,
        [CAPTCHA_PLACEHOLDER, 1],
    ]


def image_generate(request: ImageGenerationRequest, project_id: str, settings: BatchSettings) -> list[object]:
    """``ogiZ0b``: one image (one item; the page repeats items for variants, at most 4)."""
    ctx = context(project_id, settings)
    inputs = [[m.name, None, None, None, INPUT_REFERENCE] for m in request.inputs] or None
    item = [
        None,
        None,
        inputs,
        request.seed,
        settings.image_aspect_codes[request.aspect.value],
        request.upstream_model,
        None,
        ctx,
        [[[request.prompt]]],
        None,
        None,
        None,
        new_uuid(),
        new_uuid(),
    ]
    return [None, [item], 1, ctx, [new_uuid()]]


def parse_image_generate(payload: object, project_id: str) -> list[GeneratedImage]:
    """Every signed ``…/image/<id>`` URL in the reply, one image each (the id is the media id)."""
    images: dict[str, GeneratedImage] = {}
    for text in _strings(payload):
        match = _IMAGE_URL.match(text)
        if match and match["id"] not in images:
            images[match["id"]] = GeneratedImage(UpstreamMedia(match["id"], project_id), url=text)
    if not images:
        raise UpstreamProtocolError("ogiZ0b: reply has no image URL", endpoint=RPC_IMAGE)
    return list(images.values())


def upload(image: ImageData, project_id: str, file_name: str, settings: BatchSettings) -> list[object]:
    """``maseQ``: an image, base64 inline, into the project."""
    encoded = base64.b64encode(image.data).decode("ascii")
    return [
        context(project_id, settings),
        encoded,
        image.mime,
        1,
        None,
        None,
        None,
        None,
        file_name,
        None,
        new_uuid(),
        new_uuid(),
    ]


def parse_upload(payload: object, project_id: str) -> UpstreamMedia:
    """``[[mediaId, projectId, …]]``; a degenerate image answers with no id."""
    first = payload[0] if isinstance(payload, list) and payload else None
    media_id = first[0] if isinstance(first, list) and first else None
    if not isinstance(media_id, str) or not media_id:
        raise UpstreamProtocolError("maseQ: reply has no media id", endpoint=RPC_UPLOAD)
    return UpstreamMedia(media_id, project_id)


def image_upscale(media: UpstreamMedia, resolution: ImageResolution, settings: BatchSettings) -> list[object]:
    """``SPrCad``: 2K (1) or 4K (2); the context carries no project."""
    return [media.name, UPSCALE_CODES[resolution], context(None, settings)]


def parse_image_upscale(payload: object) -> bytes:
    """``[<metadata>, "<base64 jpeg>"]``."""
    encoded = payload[1] if isinstance(payload, list) and len(payload) > 1 else None
    if not isinstance(encoded, str) or not encoded:
        raise UpstreamProtocolError("SPrCad: reply has no image", endpoint=RPC_IMAGE_UPSCALE)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise UpstreamProtocolError("SPrCad: image is not base64", endpoint=RPC_IMAGE_UPSCALE) from None


@dataclass(frozen=True, slots=True)
class VideoRequest:
    """A video submit: prompt, model key, aspect, and the media it starts from or refers to."""

    prompt: str
    model_key: str
    aspect: Aspect
    start: str | None = None
    end: str | None = None
    references: tuple[str, ...] = ()


def video_submit(request: VideoRequest, project_id: str, settings: BatchSettings) -> tuple[str, list[object]]:
    """The rpcid and payload of the right submit (text, start frame, start+end, references)."""
    ctx = context(project_id, settings)
    prompt = [None, None, [[[request.prompt]]]]
    aspect = settings.video_aspect_codes[request.aspect.value]
    ids = [None, None, None, None, new_uuid(), new_uuid()]
    if request.references:
        refs = [[None, ref] for ref in request.references]
        item = [prompt, refs, request.model_key, aspect, None, ids]
        return RPC_REFERENCES, [[item], ctx, [new_uuid(), settings.frames_to_video_trailer]]
    if request.start is None:
        item = [prompt, request.model_key, aspect, None, ids]
        return RPC_TEXT_TO_VIDEO, [[item], ctx, [new_uuid(), settings.text_to_video_trailer]]
    frames: list[object] = [[None, request.start, None, None, None, DEFAULT_CROP]]
    if request.end is not None:
        frames.append([None, request.end, None, None, None, DEFAULT_CROP])
    item = [prompt, request.model_key, aspect, None, *frames, ids]
    rpcid = RPC_START_END if request.end is not None else RPC_START_FRAME
    return rpcid, [[item], ctx, [new_uuid(), settings.frames_to_video_trailer]]


def video_upscale(
    media_id: str,
    generation_id: str,
    aspect: Aspect,
    settings: BatchSettings,
    *,
    key: str = "veo_3_1_upsampler_1080p",
) -> list[object]:
    """``p0UkFb``: upscale a finished video (32-slot item, dacvuips); the new job's id comes back in
    the reply (``<mediaId>_upsampled`` for 1080p). Slot 4 carries a generation id in dacvuips's
    capture; the transport passes the media id there (the only id the poll and media records give)."""
    item: list[object] = [None] * 32
    item[0] = [None, media_id]
    item[2] = settings.video_aspect_codes[aspect.value]
    item[4] = [None, generation_id, None, None, new_uuid()]
    item[6] = 2
    item[31] = key
    return [[item], context(None, settings), [new_uuid()]]


@dataclass(frozen=True, slots=True)
class ExtendRequest:
    """Continue a clip: the source workflow, its length, the scene, the prompt and model key."""

    source_workflow_id: str
    source_seconds: int
    scene_id: str
    prompt: str
    model_key: str
    aspect: Aspect


def video_extend(request: ExtendRequest, project_id: str, settings: BatchSettings) -> list[object]:
    """``fZytfe`` (gflow's capture): frames ``[d*24-23, d*24]`` of a ``d``-second source."""
    last = request.source_seconds * 24
    source = [None, request.source_workflow_id, last - 23, last]
    ids = [request.scene_id, None, None, None, new_uuid(), new_uuid()]
    item = [
        source,
        [None, None, [[[request.prompt]]]],
        request.model_key,
        settings.video_aspect_codes[request.aspect.value],
        None,
        ids,
    ]
    return [[item], context(project_id, settings), [new_uuid(), 2, None, [request.scene_id, 2]]]


def poll(media_ids: Sequence[str]) -> list[object]:
    """``jwpduf``: the status of many jobs in one call."""
    return [None, None, [[media_id] for media_id in media_ids]]


def media_record(media_id: str) -> list[object]:
    """``as29s``: a media id's record (signed video and poster URLs)."""
    return [media_id]


def video_url(payload: object) -> str | None:
    """The signed ``…/video/<id>`` URL in an ``as29s`` record, if it is there yet (it can lag status 3)."""
    return next((s for s in _strings(payload) if _VIDEO_URL.match(s)), None)


# A job's status in a record's details[8] (flow-migration.md §2.6): [6] submitted, [2] running, [3] done,
# [4, [3, "PUBLIC_ERROR_…"], ["REASON"], [1]] failed.
VIDEO_STATES = {6: JobState.PENDING, 2: JobState.RUNNING, 3: JobState.SUCCEEDED, 4: JobState.FAILED}


def parse_video_submit(payload: object, project_id: str) -> UpstreamMedia:
    """The job id of a submit reply ``[null, n, [[workflow]], [[record]]]`` (at ``[3][0][0][0]``)."""
    record = _at(payload, 3, 0, 0)
    media_id = _at(record, 0)
    if not isinstance(media_id, str) or not media_id:
        raise UpstreamProtocolError("video submit: reply has no job id", endpoint="batch.video")
    pid = _at(record, 1)
    return UpstreamMedia(media_id, pid if isinstance(pid, str) and pid else project_id)


def parse_video_poll(payload: object, jobs: Sequence[UpstreamMedia]) -> list[VideoJobStatus]:
    """Each asked-for job's state from a ``jwpduf`` reply ``[[record, …]]`` (missing: still pending)."""
    found: dict[str, VideoJobStatus] = {}
    by_id = {job.name: job for job in jobs}
    records = _at(payload, 0)
    for record in records if isinstance(records, list) else []:
        media_id = _at(record, 0)
        if isinstance(media_id, str) and media_id in by_id:
            found[media_id] = _record_status(record, by_id[media_id])
    return [found.get(job.name, VideoJobStatus(job, JobState.PENDING)) for job in jobs]


def _record_status(record: object, job: UpstreamMedia) -> VideoJobStatus:
    status = _at(record, 5, 8)
    code = _at(status, 0)
    state = VIDEO_STATES.get(code) if isinstance(code, int) else None
    if state is None:
        raise UpstreamProtocolError(f"jwpduf: unknown status {str(status)[:40]}", endpoint=RPC_POLL)
    if state is not JobState.FAILED:
        return VideoJobStatus(job, state)
    reason = _at(status, 1, 1)
    return VideoJobStatus(job, state, reason if isinstance(reason, str) else "", "")


def parse_video_links(payload: object) -> VideoLinks | None:
    """An ``as29s`` record's signed video URL (``[7][0][8]``) and poster (details ``[10]``); None while
    the URL lags the finished status."""
    record = _at(payload, 0)
    video = _at(record, 7, 0, 8)
    if not isinstance(video, str) or not _VIDEO_URL.match(video):
        video = video_url(payload)
    if video is None:
        return None
    poster = _at(record, 5, 10)
    return VideoLinks(video, poster if isinstance(poster, str) and poster.startswith("http") else None)


def _at(value: object, *path: int) -> object:
    """Walk nested lists; None as soon as a step is missing."""
    for index in path:
        if not isinstance(value, list) or len(value) <= index:
            return None
        value = value[index]
    return value


def _strings(value: object) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(reversed(item))
