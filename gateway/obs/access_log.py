"""One structured access line per request, without query strings, headers or bodies."""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gateway.obs.tally import TALLY

log = structlog.get_logger("gateway.access")


class AccessLogger(AbstractAccessLogger):
    """aiohttp access logger writing ``http_request`` events through structlog."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write the line (the path only: a query string may carry secrets)."""
        route, tally = "unmatched", request.get(TALLY) if isinstance(request, web.Request) else None
        if isinstance(request, web.Request) and request.match_info.route.resource is not None:
            route = request.match_info.route.resource.canonical
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            route=route,
            status=response.status,
            duration_ms=round(time * 1000, 2),
            request_id=response.headers.get("x-request-id"),
            remote=request.remote,
            user_agent=request.headers.get("User-Agent", "")[:200],
            size=response.body_length,
            upstream_calls=tally.upstream_calls if tally is not None else 0,
        )

    @property
    def enabled(self) -> bool:
        """Always on (the level filter decides)."""
        return True
