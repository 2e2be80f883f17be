"""The one place errors become responses: OpenAI's ``{"error": {...}}`` with the right status.

``GatewayError`` renders itself (status, body, retry headers); aiohttp's HTTP exceptions get the
same envelope (OpenAI's own "Invalid URL" wording for 404); anything else is a bug: logged with
its traceback, answered 500 with only the request id. Cancellation (the client left) propagates.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway import keys
from gateway.errors import GatewayError, InternalError, PayloadTooLargeError

log = structlog.get_logger("gateway.errors")


def render(error: GatewayError) -> web.Response:
    """The response for a gateway error."""
    return web.json_response(error.body(), status=error.status, headers=error.headers())


def _http_envelope(request: web.Request, exc: web.HTTPException) -> web.Response:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return render(PayloadTooLargeError("the request body is too large"))
    if isinstance(exc, web.HTTPNotFound | web.HTTPMethodNotAllowed):
        message = f"Invalid URL ({request.method} {request.path})"
        code = None
    else:
        message, code = exc.reason, None
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
    return web.json_response(body, status=exc.status, headers=headers)


def error_middleware() -> Middleware:
    """Render every error raised below it."""

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except GatewayError as exc:
            level = "error" if exc.status >= 500 else "info"
            log.log(_LEVELS[level], "request_failed", status=exc.status, code=exc.code, param=exc.param)
            return render(exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _http_envelope(request, exc)
        except Exception:
            request_id = request.get(keys.REQUEST_ID, "unknown")
            log.exception("unhandled_error")
            return render(InternalError(f"Internal server error (request id {request_id})"))

    return errors


_LEVELS = {"error": 40, "info": 20}
