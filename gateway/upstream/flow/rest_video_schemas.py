"""Wire shapes of the legacy REST video routes (flow-protocol.md §7-§8): pure builders and parsers.

Every submit (text, frames, references, extend, upsample) shares one envelope: a batch id, the
audio failure preference, a ``clientContext`` carrying the account's tier and a fresh token, one
request, ``useV2ModelConfig``. Status polls take many jobs at once. A reply missing what we need
raises :class:`UpstreamProtocolError`.
"""

from __future__ import annotations

import uuid
from typing import Any

from gateway.domain import Aspect, UpstreamMedia, VideoMode, VideoResolution
from gateway.upstream.flow.errors import UpstreamProtocolError
from gateway.upstream.flow.transport import JobState, SubmittedVideo, VideoJobStatus, VideoSubmission

JSON = dict[str, Any]
VIDEO_ASPECTS = {
    Aspect.LANDSCAPE: "VIDEO_ASPECT_RATIO_LANDSCAPE",
    Aspect.PORTRAIT: "VIDEO_ASPECT_RATIO_PORTRAIT",
}
RESOLUTIONS = {VideoResolution.HD: "VIDEO_RESOLUTION_1080P", VideoResolution.UHD: "VIDEO_RESOLUTION_4K"}
METHODS = {
    VideoMode.TEXT: "Text",
    VideoMode.START: "StartImage",
    VideoMode.START_END: "StartAndEndImage",
    VideoMode.REFERENCES: "ReferenceImages",
    VideoMode.EXTEND: "ExtendVideo",
}
STATES = {
    "MEDIA_GENERATION_STATUS_PENDING": JobState.PENDING,
    "MEDIA_GENERATION_STATUS_ACTIVE": JobState.RUNNING,
    "MEDIA_GENERATION_STATUS_SUCCESSFUL": JobState.SUCCEEDED,
    "MEDIA_GENERATION_STATUS_FAILED": JobState.FAILED,
}
ENDPOINT = "video.submit"


def envelope(ctx: JSON, request: JSON) -> JSON:
    """The body every video submit shares; ``batchId`` is fresh per logical call."""
    return {
        "mediaGenerationContext": {
            "batchId": str(uuid.uuid4()),
            "audioFailurePreference": "BLOCK_SILENCED_VIDEOS",
        },
        "clientContext": ctx,
        "requests": [request],
        "useV2ModelConfig": True,
    }


def build_submit(submission: VideoSubmission, key: str, ctx: JSON) -> tuple[str, JSON]:
    """The method (``batchAsyncGenerateVideo<Method>``) and body of a generation."""
    request: JSON = {
        "aspectRatio": VIDEO_ASPECTS[submission.aspect],
        "seed": submission.seed,
        "videoModelKey": key,
        "textInput": {"structuredPrompt": {"parts": [{"text": submission.prompt}]}},
        "metadata": {},
    }
    images = [{"mediaId": m.name} for m in submission.images]
    if submission.mode is VideoMode.START:
        request["startImage"] = images[0]
    elif submission.mode is VideoMode.START_END:
        request["startImage"], request["endImage"] = images[0], images[1]
    elif submission.mode is VideoMode.REFERENCES:
        request["referenceImages"] = [
            {"imageUsageType": "IMAGE_USAGE_TYPE_ASSET", **image} for image in images
        ]
    elif submission.mode is VideoMode.EXTEND:
        if submission.source is None:
            raise ValueError("an extend needs its source video")
        request["videoInput"] = {"mediaId": submission.source.name}
        request["metadata"] = {"workflowId": str(uuid.uuid4())}
    return METHODS[submission.mode], envelope(ctx, request)


def build_upsample(
    media: UpstreamMedia, resolution: VideoResolution, aspect: Aspect, key: str, ctx: JSON
) -> JSON:
    """Body of ``batchAsyncGenerateVideoUpsampleVideo``."""
    request = {
        "aspectRatio": VIDEO_ASPECTS[aspect],
        "seed": 1 + uuid.uuid4().int % 99_999,
        "videoModelKey": key,
        "resolution": RESOLUTIONS[resolution],
        "videoInput": {"mediaId": media.name},
        "metadata": {"sceneId": str(uuid.uuid4())},
    }
    return envelope(ctx, request)


def parse_submit(doc: object, project_id: str) -> SubmittedVideo:
    """``media[0]`` of the current reply (or the legacy ``operations[0]``) and ``remainingCredits``."""
    credits = _get(doc, "remainingCredits")
    remaining = credits if isinstance(credits, int) and not isinstance(credits, bool) else None
    media = _get(doc, "media")
    if isinstance(media, list) and media and isinstance(_get(media[0], "name"), str):
        pid = _get(media[0], "projectId")
        return SubmittedVideo(
            UpstreamMedia(media[0]["name"], pid if isinstance(pid, str) else project_id), remaining
        )
    operations = _get(doc, "operations")
    if isinstance(operations, list) and operations:
        name = _get(operations[0], "operation", "name")
        if isinstance(name, str) and name:
            return SubmittedVideo(UpstreamMedia(name, project_id), remaining)
    raise UpstreamProtocolError("video.submit: reply has no media", endpoint=ENDPOINT)


def build_status(jobs: list[UpstreamMedia]) -> JSON:
    """Body of ``batchCheckAsyncVideoGenerationStatus`` (projectId is mandatory)."""
    return {"media": [{"name": job.name, "projectId": job.project_id} for job in jobs]}


def parse_status(doc: object, jobs: list[UpstreamMedia]) -> list[VideoJobStatus]:
    """Each asked-for job's state; a job missing from the reply is still pending."""
    by_name = {job.name: job for job in jobs}
    found: dict[str, VideoJobStatus] = {}
    entries = _get(doc, "media")
    for entry in entries if isinstance(entries, list) else []:
        name = _get(entry, "name")
        if isinstance(name, str) and name in by_name:
            found[name] = _entry_status(entry, by_name[name])
    return [found.get(job.name, VideoJobStatus(job, JobState.PENDING)) for job in jobs]


def _entry_status(entry: object, job: UpstreamMedia) -> VideoJobStatus:
    status = _get(entry, "mediaMetadata", "mediaStatus", "mediaGenerationStatus")
    if not isinstance(status, str):
        status = _get(entry, "mediaStatus", "status") or _get(entry, "status")
    state = STATES.get(str(status))
    if state is None:
        if str(status).startswith("MEDIA_GENERATION_STATUS_ERROR"):
            state = JobState.FAILED
        else:
            raise UpstreamProtocolError(
                f"video.status: unknown status {str(status)[:60]!r}", endpoint="video.status"
            )
    if state is not JobState.FAILED:
        return VideoJobStatus(job, state)
    error = _get(entry, "mediaMetadata", "mediaStatus", "error")
    reason, message = _get(error, "reason"), _get(error, "message")
    return VideoJobStatus(
        job,
        state,
        reason if isinstance(reason, str) else "",
        message if isinstance(message, str) else "",
    )


def _get(doc: object, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc
