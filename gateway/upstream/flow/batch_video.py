"""Positional payloads of flow.google.com's video RPCs and readers of their replies.

Shapes follow the live captures collected in flow-evidence.md (and transcribed as the evidence
fixtures in ``gateway/upstream/flow/evidence``), not older guesses:

- a submit (``YhhmEf``, ``eb1hJf``, ``nprQif``, ``MZZa6b``, ``fZytfe``, ``jIps6``, ``p0UkFb``) answers
  ``[null, n, [[workflow…]], [[mediaId, projectId, workflowId, "CAE", …]]]``: the record is
  ``[3][0]``, its ``[0]`` the media (job) id and its ``[2]`` the generation (workflow) id;
- ``jwpduf`` answers ``[null, n, [record, …]]``: the records are at ``[2]``;
- ``as29s`` answers the bare record (video URL ``[7][0][8]``, poster ``[5][10]``), a bare id string
  while the job runs, or a ``[5]`` error frame when asked too soon;
- ``p0UkFb`` names its source by media id in ``[0]`` and by generation id in ``[4][1]``, and the
  target resolution in ``[6]``.

Codes that sources disagree on come from ``BatchSettings``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.config import BatchSettings
from gateway.domain import Aspect, UpstreamMedia
from gateway.upstream.flow.batch_rpcs import at, context, new_uuid
from gateway.upstream.flow.errors import UpstreamProtocolError
from gateway.upstream.flow.reasons import decode_status
from gateway.upstream.flow.transport import JobState, VideoJobStatus, VideoLinks

RPC_TEXT_TO_VIDEO = "YhhmEf"
RPC_START_FRAME = "eb1hJf"
RPC_START_END = "nprQif"
RPC_REFERENCES = "MZZa6b"
RPC_POLL = "jwpduf"
RPC_MEDIA = "as29s"
RPC_VIDEO_UPSCALE = "p0UkFb"
RPC_EXTEND = "fZytfe"
RPC_EDIT = "jIps6"
SUBMIT_RPCS = frozenset(
    {
        RPC_TEXT_TO_VIDEO,
        RPC_START_FRAME,
        RPC_START_END,
        RPC_REFERENCES,
        RPC_EXTEND,
        RPC_EDIT,
        RPC_VIDEO_UPSCALE,
    }
)
DEFAULT_CROP = [None, 0.0039, 1, 0.9961]
FRAMES_PER_SECOND = 24  # an extend's source window is counted in frames of the 24 fps source
UPSCALE_ITEM_SLOTS = 32

# A job's status in a record's details [8] (btcfoxman's "official frontend schema", 2026-09-11, and
# Fograd's terminal set): 1/6 queued, 2 running, 3 done, 4/7 failed, 5 cancelled.
VIDEO_STATES = {
    1: JobState.PENDING,
    6: JobState.PENDING,
    2: JobState.RUNNING,
    3: JobState.SUCCEEDED,
    4: JobState.FAILED,
    5: JobState.FAILED,
    7: JobState.FAILED,
}
CANCELLED_REASON = "PUBLIC_ERROR_GENERATION_CANCELLED"


@dataclass(frozen=True, slots=True)
class VideoRequest:
    """A video submit: prompt, model key, aspect, and the media it starts from or refers to."""

    prompt: str
    model_key: str
    aspect: Aspect
    start: str | None = None
    end: str | None = None
    references: tuple[str, ...] = ()


def _ids() -> list[object]:
    """The per-item id block: two fresh seeds the page derives the output's ids from."""
    return [None, None, None, None, new_uuid(), new_uuid()]


def _prompt(text: str) -> list[object]:
    return [None, None, [[[text]]]]


def video_submit(request: VideoRequest, project_id: str, settings: BatchSettings) -> tuple[str, list[object]]:
    """The rpcid and payload of the right submit (text, start frame, start+end, references)."""
    ctx = context(project_id, settings)
    aspect = settings.video_aspect_codes[request.aspect.value]
    trailer = [new_uuid(), settings.audio_failure_preference]
    if request.references:
        refs = [[None, ref] for ref in request.references]
        return RPC_REFERENCES, [
            [[_prompt(request.prompt), refs, request.model_key, aspect, None, _ids()]],
            ctx,
            trailer,
        ]
    if request.start is None:
        return RPC_TEXT_TO_VIDEO, [
            [[_prompt(request.prompt), request.model_key, aspect, None, _ids()]],
            ctx,
            trailer,
        ]
    frames: list[object] = [[None, request.start, None, None, None, DEFAULT_CROP]]
    if request.end is not None:
        frames.append([None, request.end, None, None, None, DEFAULT_CROP])
    item = [_prompt(request.prompt), request.model_key, aspect, None, *frames, _ids()]
    return (RPC_START_END if request.end is not None else RPC_START_FRAME), [[item], ctx, trailer]


def video_upscale(
    source: UpstreamMedia, target: int, aspect: Aspect, settings: BatchSettings, *, key: str
) -> list[object]:
    """``p0UkFb``: a finished video to a higher resolution (``target``: 1 = 720p, 2 = 1080p, 3 = 4K).

    The source goes by media id in ``[0]`` and by generation id in ``[4][1]``: two different ids
    (dacvuips [L]: "not the media id"; Fograd [B] the same slots).
    """
    if not source.workflow:
        raise ValueError("an upscale needs its source's generation id")
    item: list[object] = [None] * UPSCALE_ITEM_SLOTS
    item[0] = [None, source.name]
    item[2] = settings.video_aspect_codes[aspect.value]
    item[4] = [None, source.workflow, None, None, new_uuid()]
    item[6] = target
    item[31] = key
    return [[item], context(None, settings), [new_uuid(), *settings.upscale_trailer]]


@dataclass(frozen=True, slots=True)
class ExtendRequest:
    """Continue a clip: the source's media id and length, the prompt and model key."""

    source_media_id: str
    source_seconds: int
    prompt: str
    model_key: str
    aspect: Aspect


def video_extend(request: ExtendRequest, project_id: str, settings: BatchSettings) -> list[object]:
    """``fZytfe`` in its standalone shape (no scene): the source by media id with the window of its
    last second (frames ``[d*24-23, d*24]``, gflow's live capture), fresh seeds, trailer ``[uuid, 1]``."""
    last = request.source_seconds * FRAMES_PER_SECOND
    source = [None, request.source_media_id, last - FRAMES_PER_SECOND + 1, last]
    item = [
        source,
        _prompt(request.prompt),
        request.model_key,
        settings.video_aspect_codes[request.aspect.value],
        None,
        _ids(),
    ]
    return [[item], context(project_id, settings), [new_uuid(), settings.extend_trailer]]


@dataclass(frozen=True, slots=True)
class EditRequest:
    """Rework a clip (Omni Flash's edit): the source's media id and length, the prompt and model key."""

    source_media_id: str
    source_seconds: int
    prompt: str
    model_key: str
    aspect: Aspect


def video_edit(request: EditRequest, project_id: str, settings: BatchSettings) -> list[object]:
    """``jIps6``: ``[source, prompt, key, aspect, ids, null, null, null, images, audio, entities,
    likenesses, output]`` (an unattributed Go gateway's ``flowBatchArgs``; btcfoxman's the same head),
    the source by media id over its whole length (frames 0 to its end at 24 fps: the edit keeps the
    source's length), no reference lists, output null (720p); trailer ``[uuid, audio preference]``
    like every generating submit."""
    end = request.source_seconds * FRAMES_PER_SECOND
    item = [
        [None, request.source_media_id, 0, end],
        _prompt(request.prompt),
        request.model_key,
        settings.video_aspect_codes[request.aspect.value],
        _ids(),
        None,
        None,
        None,
        [],
        [],
        [],
        [],
        None,
    ]
    return [[item], context(project_id, settings), [new_uuid(), settings.audio_failure_preference]]


def poll(media_ids: Sequence[str]) -> list[object]:
    """``jwpduf``: the status of many jobs in one call."""
    return [None, None, [[media_id] for media_id in media_ids]]


def media_record(media_id: str) -> list[object]:
    """``as29s``: a media id's record (signed video and poster URLs)."""
    return [media_id]


def parse_video_submit(payload: object, project_id: str) -> UpstreamMedia:
    """The job a submit created: media id ``[3][0][0]``, project ``[3][0][1]``, generation ``[3][0][2]``."""
    record = at(payload, 3, 0)
    media_id = at(record, 0)
    if not isinstance(media_id, str) or not media_id:
        raise UpstreamProtocolError("video submit: reply has no job id", endpoint="batch.video")
    pid, workflow = at(record, 1), at(record, 2)
    if not isinstance(workflow, str):
        workflow = at(payload, 2, 0, 0)  # the workflow block repeats it first
    return UpstreamMedia(
        media_id,
        pid if isinstance(pid, str) and pid else project_id,
        workflow if isinstance(workflow, str) else "",
    )


def parse_video_poll(payload: object, jobs: Sequence[UpstreamMedia]) -> list[VideoJobStatus]:
    """Each asked-for job's state from a ``jwpduf`` reply (records at ``[2]``; missing: still pending)."""
    found: dict[str, VideoJobStatus] = {}
    by_id = {job.name: job for job in jobs}
    records = at(payload, 2)
    for record in records if isinstance(records, list) else []:
        media_id = at(record, 0)
        if isinstance(media_id, str) and media_id in by_id:
            found[media_id] = _record_status(record, _with_workflow(by_id[media_id], record))
    return [found.get(job.name, VideoJobStatus(job, JobState.PENDING)) for job in jobs]


def _with_workflow(job: UpstreamMedia, record: object) -> UpstreamMedia:
    workflow = at(record, 2)
    if job.workflow or not isinstance(workflow, str) or not workflow:
        return job
    return UpstreamMedia(job.name, job.project_id, workflow)


def _record_status(record: object, job: UpstreamMedia) -> VideoJobStatus:
    status = at(record, 5, 8)
    code = at(status, 0)
    state = VIDEO_STATES.get(code) if isinstance(code, int) and not isinstance(code, bool) else None
    if state is None:
        raise UpstreamProtocolError(f"jwpduf: unknown status {str(status)[:40]}", endpoint=RPC_POLL)
    if state is not JobState.FAILED:
        return VideoJobStatus(job, state)
    if code == 5:
        return VideoJobStatus(job, state, CANCELLED_REASON, "Flow cancelled the job")
    # [4, [3, "PUBLIC_ERROR_…"], ["INTERNAL_REASON"], [1]]: [1] is a Status, in any of the reason forms.
    reasons = decode_status(at(status, 1)).reasons
    return VideoJobStatus(job, state, reasons[0] if reasons else "", "")


def parse_video_links(payload: object) -> VideoLinks | None:
    """An ``as29s`` record's signed video URL (``[7][0][8]``) and poster (``[5][10]``); None while the
    job runs (a bare id string) or the URL lags the finished status."""
    if not isinstance(payload, list):
        return None
    video = at(payload, 7, 0, 8)
    if not isinstance(video, str) or not video.startswith("http"):
        return None
    poster = at(payload, 5, 10)
    return VideoLinks(video, poster if isinstance(poster, str) and poster.startswith("http") else None)


def workflow_of(payload: object) -> str:
    """The generation id of an ``as29s`` record (``[2]``), or "" when the reply is not a record."""
    workflow = at(payload, 2)
    return workflow if isinstance(payload, list) and isinstance(workflow, str) else ""


def balance_of(payload: object) -> int | None:
    """A submit reply's ``[1]``: the account's credits after the charge (gflow-948, live)."""
    balance = at(payload, 1)
    return balance if isinstance(balance, int) and not isinstance(balance, bool) else None
