"""The operations of Google's dialect (``/gemini/{v1,v1beta,v1beta1}``, ``/v1beta``, ``/v1beta1``):
the Gemini API's ``models/...`` and Vertex AI's ``publishers/google/models/...``."""

from __future__ import annotations

from aiohttp.typedefs import Handler

from gateway.gemini import bodies as b
from gateway.gemini import content, models, operations
from gateway.openapi import google_objects as g
from gateway.openapi.spec import JSON, PARTIAL, SSE, Operation, Reply, files, ok, query
from gateway.wire import Array, Text

GEMINI, VERTEX = "Google: Gemini API", "Google: Vertex AI"
# Accepted as Google's clients send them; the list is one page (it is short).
PAGE = (query("pageSize", Text(), "Accepted; the list is one page."), query("pageToken", Text(), "Accepted."))
OPERATION = ok(g.OPERATION)

OPERATIONS: dict[Handler, Operation] = {
    models.list_models: Operation("List models", GEMINI, (ok(g.GEMINI_MODELS),), params=PAGE),
    models.get_model: Operation("Retrieve a model", GEMINI, (ok(g.GEMINI_MODEL),)),
    models.list_publisher_models: Operation(
        "List publisher models", VERTEX, (ok(g.PUBLISHER_MODELS),), params=PAGE
    ),
    models.get_publisher_model: Operation("Retrieve a publisher model", VERTEX, (ok(g.PUBLISHER_MODEL),)),
    content.generate_content: Operation(
        "Generate images (Gemini image models)",
        GEMINI,
        (ok(g.GENERATE_CONTENT),),
        body=b.GENERATE_CONTENT,
        body_required=True,
    ),
    content.stream_generate_content: Operation(
        "Generate images, streamed",
        GEMINI,
        (
            Reply(
                200,
                "One event with the answer (``alt=sse``), or a JSON array.",
                ((JSON, Array(g.GENERATE_CONTENT)), (SSE, None)),
            ),
        ),
        body=b.GENERATE_CONTENT,
        body_required=True,
        params=(query("alt", Text(enum=("sse", "json"))),),
    ),
    content.predict: Operation(
        "Generate images (Imagen)", GEMINI, (ok(g.PREDICT),), body=b.IMAGEN_REQUEST, body_required=True
    ),
    operations.predict_long_running: Operation(
        "Start a video (Veo)",
        GEMINI,
        (ok(g.OPERATION, "The operation, at once (``done: false``)."),),
        body=b.VEO_REQUEST,
        body_required=True,
    ),
    operations.get_operation: Operation("A video operation (the Gemini API's shape)", GEMINI, (OPERATION,)),
    operations.get_vertex_operation: Operation("A video operation (Vertex AI's shape)", VERTEX, (OPERATION,)),
    operations.fetch_predict_operation: Operation(
        "A video operation by name (Vertex AI)",
        VERTEX,
        (OPERATION,),
        body=b.FETCH_OPERATION,
        body_required=True,
    ),
    operations.download_file: Operation(
        "Download a video file",
        GEMINI,
        (files("The mp4."), PARTIAL),
        params=(query("alt", Text(enum=("media",))),),
    ),
}
