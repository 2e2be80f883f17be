"""Images in Google's dialect: ``:generateContent``, ``:streamGenerateContent`` and Imagen's ``:predict``.

Each becomes the ``ImageOrder`` the OpenAI routes make, run by the same service (same pool, same
limits, same departure rule: a client that leaves gets nothing more dispatched). The stream sends
the whole answer as one event once the images exist: Google's SDK reads every ``data:`` line as
JSON, so there is nothing to keep the connection warm with before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.api.admission import admit_images
from gateway.api.departure import departure, left
from gateway.api.forms import limits_of, read_form
from gateway.api.images import header_groups
from gateway.api.render import body_chunks, json_pieces, json_response
from gateway.domain import Kind
from gateway.errors import InvalidRequestError
from gateway.gemini.content_schemas import parse_generate_content
from gateway.gemini.names import NAMES, Choice
from gateway.gemini.predict_schemas import parse_imagen
from gateway.gemini.render import INDENTED, candidates, predictions
from gateway.service.generation import ImageResult
from gateway.service.images import ImageOrder
from gateway.service.inputs import ImageSource
from gateway.service.videos import new_task_id

FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON object of the body (Google's API takes nothing else)."""
    if request.content_type.startswith(FORM_TYPES):
        raise InvalidRequestError(
            "the body must be JSON (Content-Type: application/json)", code="invalid_json"
        )
    form = await read_form(request, limits_of(request))
    return form.json or {}


async def generate_content(request: web.Request) -> web.Response:
    """``models/{m}:generateContent``: images as inline parts of the candidates."""
    parsed = parse_generate_content(await read_json(request))
    model = request.match_info["model"]
    results = await _generate(
        request, parsed.prompt, n=parsed.n, sources=parsed.sources, choices=parsed.choices
    )
    doc = candidates(results, model=model, response_id=new_task_id("resp"))
    return json_response(doc, option=INDENTED)


async def stream_generate_content(request: web.Request) -> web.StreamResponse:
    """``models/{m}:streamGenerateContent``: with ``alt=sse`` one event; otherwise a JSON array."""
    parsed = parse_generate_content(await read_json(request))
    model = request.match_info["model"]
    results = await _generate(
        request, parsed.prompt, n=parsed.n, sources=parsed.sources, choices=parsed.choices
    )
    doc = candidates(results, model=model, response_id=new_task_id("resp"))
    if request.query.get("alt") != "sse":
        return json_response([doc], option=INDENTED)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    await response.write(b"data: ")
    for chunk in body_chunks(json_pieces(doc)):  # one line: an SSE event's data cannot be indented
        await response.write(chunk)
    await response.write(b"\r\n\r\n")
    await response.write_eof()
    return response


async def predict(request: web.Request) -> web.Response:
    """``models/{m}:predict`` (Imagen): ``predictions[].bytesBase64Encoded``."""
    parsed = parse_imagen(await read_json(request))
    results = await _generate(request, parsed.prompt, n=parsed.n, sources=(), choices=parsed.choices)
    return json_response(predictions(results), option=INDENTED)


async def _generate(
    request: web.Request,
    prompt: str,
    *,
    n: int,
    sources: tuple[ImageSource, ...],
    choices: tuple[Choice, ...],
) -> list[ImageResult]:
    model = request.match_info["model"]
    order = ImageOrder(
        model=request.app[NAMES].model_string(model, choices),
        prompt=prompt,
        owner=request[keys.LICENCE].id,
        n=n,
        sources=sources,
        groups=header_groups(request),
    )
    images = request.app[keys.IMAGES]
    if request.app[keys.CATALOG].resolve(order.model, groups=order.groups).kind is Kind.VIDEO:
        raise InvalidRequestError(f"{model} makes videos: call :predictLongRunning", param="model")
    order, admission = await admit_images(request, order)  # refused here: nothing fetched, nothing sent
    gone = asyncio.Event()
    job = asyncio.ensure_future(request.app[keys.QUOTA].metered(admission, images.run(order, departed=gone)))
    async with departure(request, job.cancel, gone=gone):
        try:
            return await asyncio.shield(job)
        except asyncio.CancelledError:  # left, on a server that cancels handlers of departed clients
            left(gone, job.cancel)
            raise
