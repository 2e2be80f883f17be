"""``GET /openapi.json``: the document, built at the first request (every route is registered by
then) and kept; no licence needed (it holds no secret, and clients read it before they have one)."""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway.openapi.document import all_operations, build
from gateway.openapi.public import BY_PATH
from gateway.openapi.spec import JSON, Auth, Operation, Reply
from gateway.wire import AnyValue, MapOf
from gateway.wire.json_schema import Json

PATH = "/openapi.json"
# The rendered document, once built (one entry; a dict so the app's state is set before it starts).
DOCUMENT = web.AppKey("gateway.openapi_document", dict[str, bytes])
OWN = Operation(
    "This document",
    "Meta",
    (Reply(200, "The OpenAPI 3.1 document.", ((JSON, MapOf(AnyValue())),)),),
    auth=Auth.NONE,
)


def add_openapi_route(app: web.Application) -> None:
    """Serve the document at :data:`PATH`."""
    app[DOCUMENT] = {}
    app.router.add_get(PATH, openapi_json)


def document_of(app: web.Application) -> tuple[Json, list[str]]:
    """The document of ``app``'s routes, and the routes no operation describes."""
    return build(app.router.routes(), operations=all_operations(), by_path={**BY_PATH, PATH: OWN})


async def openapi_json(request: web.Request) -> web.Response:
    """The document (built once per app)."""
    cache = request.app[DOCUMENT]
    body = cache.get(PATH)
    if body is None:
        body = cache[PATH] = orjson.dumps(document_of(request.app)[0])
    return web.Response(body=body, content_type=JSON)
