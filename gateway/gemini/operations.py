"""Veo in Google's dialect: ``:predictLongRunning``, the operation it returns, and its video file.

A ``:predictLongRunning`` call is ``POST /v1/videos``: the same ``VideoOrder``, the same durable
task, answered at once with the operation (the task id is its id). Reading it back answers from the
task engine's own state, never Flow: the Gemini API's ``GET .../operations/{id}`` with the video as
a ``files/{id}:download`` URI the same key fetches, Vertex AI's ``:fetchPredictOperation`` with the
bytes. Another licence's operation or file does not exist (404), as with ``/v1/videos``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway import keys
from gateway.api.admission import gate_of
from gateway.api.images import header_groups
from gateway.api.media import media_response
from gateway.api.render import json_response
from gateway.domain import Kind, TaskRecord, TaskStatus
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.gemini.content import read_json
from gateway.gemini.dialect import api_base
from gateway.gemini.fields import a_string, fields_named
from gateway.gemini.names import NAMES, Choice
from gateway.gemini.predict_schemas import parse_veo
from gateway.gemini.render import (
    INDENTED,
    developer_done,
    operation_id,
    pending,
    resource_of,
    task_of_file,
    vertex_done,
)
from gateway.service.videos import VideoOrder

Done = Callable[[TaskRecord, str, web.Request], Awaitable[dict[str, object]]]
# The OpenAI parameters a video service error may name, as Google's fields.
FIELDS = {
    "seconds": "parameters.durationSeconds",
    "size": "parameters.aspectRatio",
    "prompt": "instances[0].prompt",
}


async def predict_long_running(request: web.Request) -> web.Response:
    """Start a video; the operation answers at once (``done: false``)."""
    parsed = parse_veo(await read_json(request))
    model = request.match_info["model"]
    choices = parsed.choices
    if parsed.frames:
        choices = (*choices, Choice("frames", "fl", "instances[0].image"))
    images = "instances[0].image" if parsed.frames else "instances[0].referenceImages"
    with fields_named({**FIELDS, "input_reference": images}):
        order = VideoOrder(
            model=request.app[NAMES].model_string(model, choices),
            prompt=parsed.prompt,
            owner=request[keys.LICENCE].id,
            sources=parsed.sources,
            groups=header_groups(request),
        )
        if request.app[keys.CATALOG].resolve(order.model, groups=order.groups).kind is not Kind.VIDEO:
            raise InvalidRequestError(
                f"{model} makes images: call :generateContent or :predict", param="model"
            )
        record = await request.app[keys.VIDEOS].create(order, gate=gate_of(request))  # the licence's limits
    name = f"{resource_of(request)}/operations/{record.id}"
    return json_response((pending(record, name, request) or {"name": name, "done": False}), option=INDENTED)


async def get_operation(request: web.Request) -> web.Response:
    """``GET {version}/models/{m}/operations/{id}`` (or ``operations/{id}``): the Gemini API's shape."""
    record = await _task(request, request.match_info["operation"])
    name = request.path[len(api_base(request)) + 1 :]
    return json_response(await _operation(request, record, name, developer_done), option=INDENTED)


async def get_vertex_operation(request: web.Request) -> web.Response:
    """``GET {version}/publishers/google/models/{m}/operations/{id}``: Vertex AI's shape."""
    record = await _task(request, request.match_info["operation"])
    name = request.path[len(api_base(request)) + 1 :]
    return json_response(await _operation(request, record, name, vertex_done), option=INDENTED)


async def fetch_predict_operation(request: web.Request) -> web.Response:
    """``publishers/google/models/{m}:fetchPredictOperation`` ``{operationName}`` (Vertex AI)."""
    doc = await read_json(request)
    name = a_string(doc.get("operationName"), "operationName")
    if not name:
        raise InvalidRequestError(
            "operationName is required", param="operationName", code="missing_required_parameter"
        )
    record = await _task(request, operation_id(name, "operationName"))
    return json_response(await _operation(request, record, name, vertex_done), option=INDENTED)


async def download_file(request: web.Request) -> web.StreamResponse:
    """``files/{id}:download?alt=media``: the video, streamed, ``Range`` honoured."""
    record = await _task(request, task_of_file(request.match_info["file"]))
    if record.status is not TaskStatus.COMPLETED or not record.results:
        raise NotFoundError(f"files/{request.match_info['file']} has no content yet", param="name")
    response = await media_response(request, record.results[0])
    if response is None:
        raise NotFoundError("the video of this file is gone", param="name")
    return response


async def _task(request: web.Request, task_id: str) -> TaskRecord:
    try:
        return await request.app[keys.TASKS].get(task_id, owner=request[keys.LICENCE].id, kind=Kind.VIDEO)
    except NotFoundError:
        raise NotFoundError(f"Operation {task_id[:80]} is not found.", param="name") from None


async def _operation(request: web.Request, record: TaskRecord, name: str, done: Done) -> dict[str, object]:
    """The operation: pending or failed alike in both APIs; completed in ``done``'s shape."""
    unfinished = pending(record, name, request)
    return unfinished if unfinished is not None else await done(record, name, request)
