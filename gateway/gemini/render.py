"""Google's response shapes: candidates, Imagen predictions, long-running operations, file ids.

Images are ``Base64Bytes``, encoded while the body is written (``gateway.api.render``). A video
task is an operation named after the resource it was started on (``models/{m}/operations/{id}`` or
``publishers/google/models/{m}/operations/{id}``), the task id being the operation id. Its file id
is the task id without the underscore, because the SDK reads a file id out of a URI as ``[a-z0-9]+``.
"""

from __future__ import annotations

import re
import time

import orjson
from aiohttp import web

from gateway import keys
from gateway.api.render import Base64Bytes, media_url, public_base
from gateway.domain import TaskRecord, TaskStatus
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.gemini.dialect import api_base, operation_error
from gateway.service.generation import ImageResult
from gateway.service.progress import estimate

INDENTED = orjson.OPT_INDENT_2  # Google answers indented; the curl of its docs greps '"data": "'
TASK_PREFIX = "video_"
_FILE_ID = re.compile(r"^video[0-9a-f]{32}$")
DEV_RESPONSE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
VERTEX_RESPONSE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"


def candidates(results: list[ImageResult], *, model: str, response_id: str) -> dict[str, object]:
    """A ``GenerateContentResponse``: one candidate per image."""
    return {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"inlineData": {"mimeType": r.media.mime, "data": Base64Bytes(r.data)}}],
                },
                "finishReason": "STOP",
                "index": i,
            }
            for i, r in enumerate(results)
        ],
        "modelVersion": model,
        "responseId": response_id,
    }


def predictions(results: list[ImageResult]) -> dict[str, object]:
    """Imagen's ``PredictResponse``."""
    return {
        "predictions": [
            {"bytesBase64Encoded": Base64Bytes(r.data), "mimeType": r.media.mime} for r in results
        ]
    }


def resource_of(request: web.Request) -> str:
    """The resource a ``:method`` request names (``models/veo-3.1-generate-preview``)."""
    return request.path[len(api_base(request)) + 1 :].rpartition(":")[0]


def file_id(task_id: str) -> str:
    """The file id of a video task's result."""
    return task_id.replace("_", "", 1)


def task_of_file(name: str) -> str:
    """The task a file id (or anything ending in ``files/<id>``, as the SDK sends a plain-http URI
    back) stands for; 404 for what no task could be."""
    found = name.rpartition("files/")[2]
    if not _FILE_ID.match(found):
        raise NotFoundError(f"files/{found[:64]} is not found.", param="name")
    return TASK_PREFIX + found.removeprefix("video")


def operation_id(name: str, where: str) -> str:
    """The id of an operation name (``.../operations/<id>``)."""
    _, found, op = name.rpartition("/operations/")
    if not found or not op or "/" in op:
        raise InvalidRequestError(f"{where} must be an operation name (…/operations/<id>)", param=where)
    return op


def pending(record: TaskRecord, name: str, request: web.Request) -> dict[str, object] | None:
    """The operation while unfinished, or failed; None when it completed (the caller renders it)."""
    if record.status is TaskStatus.COMPLETED:
        return None
    if record.status is TaskStatus.FAILED:
        return {"name": name, "done": True, "error": operation_error(record.error_code, record.error_message)}
    progress = estimate(record, time.time(), request.app[keys.SETTINGS].tasks)
    return {"name": name, "done": False, "metadata": {"progressPercent": progress}}


async def developer_done(record: TaskRecord, name: str, request: web.Request) -> dict[str, object]:
    """A completed video as the Gemini API shows it: a URI the same key can download."""
    uri = f"{public_base(request)}{api_base(request)}/files/{file_id(record.id)}:download?alt=media"
    samples = [{"video": {"uri": uri}}]
    response = {"@type": DEV_RESPONSE, "generateVideoResponse": {"generatedSamples": samples}}
    return {"name": name, "done": True, "response": response}


async def vertex_done(record: TaskRecord, name: str, request: web.Request) -> dict[str, object]:
    """A completed video as Vertex AI shows it: the bytes (what the SDK's ``video.save()`` uses)
    and, as ``gcsUri``, a signed URL of the same file that opens without the key."""
    media_id = record.results[0] if record.results else ""
    raw = await request.app[keys.MEDIA].read(media_id) if media_id else None
    if raw is None:
        return {
            "name": name,
            "done": True,
            "error": operation_error("video_unavailable", "the video is gone"),
        }
    video = {
        "bytesBase64Encoded": Base64Bytes(raw),
        "mimeType": "video/mp4",
        "gcsUri": media_url(request, media_id, made_at=record.completed_at),
    }
    response = {"@type": VERTEX_RESPONSE, "raiMediaFilteredCount": 0, "videos": [video]}
    return {"name": name, "done": True, "response": response}
