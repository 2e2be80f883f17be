"""CORS for browser clients: origins from ``[server] cors_origins`` (empty, the default: off, and no
CORS header is ever sent).

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from an allowed origin
is answered here, before the licence check: browsers send no credentials on a preflight, so behind
the licence middleware every preflight would be a 401 and every browser call would fail. Actual
responses from an allowed origin get ``Access-Control-Allow-Origin`` (the origin itself, with ``Vary:
Origin``) and the headers a client reads exposed (request id, poll and retry hints, rate limits), in
``on_response_prepare`` so that streams and error responses carry them too.

A small middleware rather than aiohttp-cors: that library answers preflights from route handlers, so
after every middleware (the licence check refuses them first), and it must be handed every route one
by one, which routes added later by other modules (the admin API, Google's dialect) would miss.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

# What a browser client may read of a response (it sees only "simple" headers otherwise).
EXPOSED = (
    "x-request-id",
    "openai-poll-after-ms",
    "openai-processing-ms",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "x-flow-task-id",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
    "content-range",
    "accept-ranges",
)
RATE_LIMIT_PREFIX = "x-ratelimit-"  # any further limit header a response carries is exposed as well
METHODS = "GET, POST, PATCH, DELETE, HEAD, OPTIONS"
DEFAULT_HEADERS = "authorization, content-type, x-api-key, x-goog-api-key"
MAX_AGE = "600"
_HEADER_LIST = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$")


class CorsPolicy:
    """Which origins may call from a browser (``*``: any)."""

    def __init__(self, origins: Sequence[str]) -> None:
        self._any = "*" in origins
        self._origins = frozenset(o.strip().rstrip("/").lower() for o in origins if o.strip() != "*")

    @property
    def enabled(self) -> bool:
        """False when no origin is configured: nothing of CORS is done at all."""
        return self._any or bool(self._origins)

    def allows(self, origin: str) -> bool:
        """True for an allowed ``Origin`` header value."""
        return bool(origin) and (self._any or origin.rstrip("/").lower() in self._origins)


def cors_middlewares(policy: CorsPolicy) -> list[Middleware]:
    """The preflight middleware, or none when CORS is off; put it before the licence check."""
    return [_preflight_middleware(policy)] if policy.enabled else []


def install_cors_headers(app: web.Application, policy: CorsPolicy) -> None:
    """Stamp the CORS headers on every response to an allowed origin (when CORS is on)."""
    if not policy.enabled:
        return

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin", "")
        if policy.allows(origin):
            _stamp(response, origin)

    app.on_response_prepare.append(on_prepare)


def _preflight_middleware(policy: CorsPolicy) -> Middleware:
    @web.middleware
    async def cors_preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin", "")
        if (
            request.method == "OPTIONS"
            and "Access-Control-Request-Method" in request.headers
            and policy.allows(origin)
        ):
            return _preflight(request)
        return await handler(request)

    return cors_preflight


def _preflight(request: web.Request) -> web.Response:
    """204 allowing the methods and the headers the browser asked for (any well-formed list: the
    SDKs send their own ``x-stainless-*`` headers; credentials are never cookies here)."""
    asked = request.headers.get("Access-Control-Request-Headers", "").strip()
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": METHODS,
            "Access-Control-Allow-Headers": asked if _HEADER_LIST.match(asked) else DEFAULT_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
        },
    )


def _stamp(response: web.StreamResponse, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    vary = response.headers.get("Vary", "")
    if "origin" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
    extra = [name.lower() for name in response.headers if name.lower().startswith(RATE_LIMIT_PREFIX)]
    response.headers["Access-Control-Expose-Headers"] = ", ".join(dict.fromkeys([*EXPOSED, *extra]))
