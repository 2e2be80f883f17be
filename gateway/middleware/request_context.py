"""Request id (``x-request-id`` in and out), timing headers and the structlog context of a request.

The headers are attached in ``on_response_prepare`` as well, so streamed responses (prepared by the
handler before the middleware sees them) carry them too. ``x-gateway-overhead-ms`` is the time from
the request entering the middleware chain to the response being prepared, for non-streamed
responses the gateway's whole processing time including upstream calls; ``openai-processing-ms``
is the same number, as OpenAI names it.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway import keys
from gateway.obs.tally import TALLY, start_tally

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
STARTED = web.RequestKey("gateway.started", float)


def new_request_id() -> str:
    """A fresh id: ``req_`` and 32 hex characters."""
    return f"req_{uuid.uuid4().hex}"


def request_context_middleware() -> Middleware:
    """The middleware; pair it with :func:`install_response_headers` on the app."""

    @web.middleware
    async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _SANE.match(incoming) else new_request_id()
        request[keys.REQUEST_ID] = request_id
        request[STARTED] = time.monotonic()
        request[TALLY] = start_tally()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _stamp(request, exc)
            raise
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "licence_id")
        if not response.prepared:
            _stamp(request, response)
        return response

    return request_context


def install_response_headers(app: web.Application) -> None:
    """Stamp the headers on responses prepared inside the handler (streams) too."""

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        _stamp(request, response)

    app.on_response_prepare.append(on_prepare)


def _stamp(request: web.Request, response: web.StreamResponse) -> None:
    """Set the headers once; safe inside ``on_response_prepare``, where headers are not yet sent."""
    request_id = request.get(keys.REQUEST_ID)
    if request_id is None or HEADER in response.headers:
        return
    response.headers[HEADER] = request_id
    elapsed = str(int((time.monotonic() - request[STARTED]) * 1000))
    response.headers["openai-processing-ms"] = elapsed
    response.headers["x-gateway-overhead-ms"] = elapsed
    response.headers.setdefault("openai-version", "2020-10-01")
