"""The one place errors become responses: OpenAI's ``{"error": {...}}`` with the right status.

``GatewayError`` renders itself (status, body, retry headers); aiohttp's HTTP exceptions get the
same envelope (OpenAI's own "Invalid URL" wording for 404). A body aiohttp could not read (a
``Content-Encoding`` that does not decode, a framing error) is the client's mistake: a 400 (413
when it decompresses past the limit), logged at info. A client that left mid-request is logged at
info and answered nothing (status 499 for the metrics). Anything else is a bug: logged with its
traceback, answered 500 with only the request id. Cancellation (the client left) propagates.

Another API's dialect (Google's, under its own prefixes) claims its requests by path; their errors,
aiohttp's 404/405 included, are the same ``GatewayError`` rendered in that dialect's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import structlog
from aiohttp import hdrs, web
from aiohttp.http_exceptions import ContentEncodingError, DecompressSizeError
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_protocol import RequestPayloadError

from gateway import keys
from gateway.errors import (
    GatewayError,
    InternalError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
)
from gateway.obs.access_log import ERROR_CODE

log = structlog.get_logger("gateway.errors")
CLIENT_CLOSED = 499  # nginx's status for "the client closed the connection"; never sent, only counted
_KEPT_HEADERS = frozenset({"allow", "retry-after", "content-range", "accept-ranges"})
_Respond = Callable[[web.Request, GatewayError], web.Response]


class ErrorDialect(Protocol):
    """Another API's error shape, for the requests it claims (by path)."""

    def claims(self, request: web.Request) -> bool:
        """True when ``request`` speaks this dialect."""
        ...

    def render(self, error: GatewayError) -> web.Response:
        """The response for ``error`` in this dialect."""
        ...


def render(error: GatewayError) -> web.Response:
    """The response for a gateway error."""
    return web.json_response(error.body(), status=error.status, headers=error.headers())


def _http_error(request: web.Request, exc: web.HTTPException) -> GatewayError:
    """aiohttp's HTTP error as the gateway error it stands for (for a dialect's shape)."""
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return PayloadTooLargeError("the request body is too large")
    message = f"Invalid URL ({request.method} {request.path})"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return MethodNotAllowedError(message)
    if isinstance(exc, web.HTTPNotFound):
        return NotFoundError(message)
    return InvalidRequestError(exc.reason) if exc.status < 500 else InternalError(exc.reason)


def _http_envelope(request: web.Request, exc: web.HTTPException) -> web.Response:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return render(PayloadTooLargeError("the request body is too large"))
    if isinstance(exc, web.HTTPNotFound | web.HTTPMethodNotAllowed):
        message = f"Invalid URL ({request.method} {request.path})"
        code = None
    else:
        message, code = exc.reason, None
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    headers = {k: v for k, v in exc.headers.items() if k.lower() in _KEPT_HEADERS}
    return web.json_response(body, status=exc.status, headers=headers)


def body_error(exc: RequestPayloadError, content_encoding: str) -> GatewayError:
    """The client error for a body aiohttp could not read, by the parser's exception class (the cause,
    when aiohttp kept it: only a reader already waiting gets it) or else the request's encoding."""
    cause = exc.__cause__
    if isinstance(cause, DecompressSizeError):
        return PayloadTooLargeError("the request body is too large once decompressed")
    encoding = content_encoding.strip()[:32]
    if isinstance(cause, ContentEncodingError) or (cause is None and encoding and encoding != "identity"):
        return InvalidRequestError(
            f"the request body could not be decoded as Content-Encoding {encoding!r}",
            code="invalid_content_encoding",
        )
    return InvalidRequestError(
        "the request body could not be read (malformed or cut short)", code="invalid_body"
    )


def _unreadable_body(request: web.Request, exc: RequestPayloadError, respond: _Respond) -> web.Response:
    error = body_error(exc, request.headers.get(hdrs.CONTENT_ENCODING, ""))
    log.debug("request_failed", status=error.status, code=error.code, param=None)
    request[ERROR_CODE] = error.code
    # aiohttp reads what is left of a body after the response ("lingering") and would log the same
    # parser error again as unhandled; the rest of this body is unusable, so mark it read, and close
    # the connection, whose framing can no longer be trusted.
    request.content.feed_eof()
    response = respond(request, error)
    response.force_close()
    return response


def _client_gone(request: web.Request) -> bool:
    """True when the client's side of the connection is closed (not some other connection's reset)."""
    transport = request.transport
    return transport is None or transport.is_closing()


def error_middleware(dialects: Sequence[ErrorDialect] = ()) -> Middleware:
    """Render every error raised below it (in the dialect that claims the request, if one does)."""

    def dialect_of(request: web.Request) -> ErrorDialect | None:
        return next((d for d in dialects if d.claims(request)), None)

    def respond(request: web.Request, error: GatewayError) -> web.Response:
        dialect = dialect_of(request)
        return render(error) if dialect is None else dialect.render(error)

    def http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
        dialect = dialect_of(request)
        if dialect is None:
            return _http_envelope(request, exc)
        response = dialect.render(_http_error(request, exc))
        response.headers.update({k: v for k, v in exc.headers.items() if k.lower() in _KEPT_HEADERS})
        return response

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except GatewayError as exc:
            # A 500 is ours to fix; a 502/503/504 is Flow's state (an incident answers hundreds a
            # minute: warnings, not an error page for the on-call); a 4xx is the caller's.
            # A 4xx is the caller's, already on the access line with its code: debug only.
            level = "error" if exc.status == 500 else "warning" if exc.status > 500 else "debug"
            log.log(_LEVELS[level], "request_failed", status=exc.status, code=exc.code, param=exc.param)
            request[ERROR_CODE] = exc.code
            return respond(request, exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return http_error(request, exc)
        except RequestPayloadError as exc:
            return _unreadable_body(request, exc, respond)
        except Exception as exc:  # the one catch-all: a gone client, else a bug (answered 500)
            if isinstance(exc, ConnectionError) and _client_gone(request):
                log.info("client_disconnected", method=request.method, path=request.path)
                return web.Response(status=CLIENT_CLOSED)
            request_id = request.get(keys.REQUEST_ID, "unknown")
            log.exception("unhandled_error")
            return respond(request, InternalError(f"Internal server error (request id {request_id})"))

    return errors


_LEVELS = {"error": 40, "warning": 30, "info": 20, "debug": 10}
