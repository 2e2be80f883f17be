"""Request metrics labelled by route template (``/v1/models/{model_id}``), never by raw path."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.errors import GatewayError
from gateway.obs.metrics import GatewayMetrics
from gateway.obs.tally import TALLY

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: web.Request) -> str:
    """The matched route's template, or ``unmatched``."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def metrics_middleware(metrics: GatewayMetrics) -> Middleware:
    """Count, time and gauge every request."""
    # Label children by their values: ``labels()`` takes a lock and validates on every call, a
    # dict lookup does not (routes and statuses are few, so these stay small).
    inflights: dict[str, Any] = {}
    durations: dict[tuple[str, str], Any] = {}
    counts: dict[tuple[str, str, int], Any] = {}

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = route_of(request)
        inflight = inflights.get(route) or inflights.setdefault(route, metrics.http_inflight.labels(route))
        inflight.inc()
        started = time.monotonic()
        status = 500
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            status = exc.status
            raise
        except GatewayError as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away (nginx's convention)
            raise
        else:
            status = response.status
            return response
        finally:
            inflight.dec()
            method = request.method if request.method in METHODS else "OTHER"  # a label set stays bounded
            count = counts.get((method, route, status))
            if count is None:
                count = counts[method, route, status] = metrics.http_requests.labels(
                    method, route, str(status)
                )
            count.inc()
            duration = durations.get((method, route))
            if duration is None:
                duration = durations[method, route] = metrics.http_duration.labels(method, route)
            duration.observe(time.monotonic() - started)
            tally = request.get(TALLY)
            if tally is not None and tally.upstream_calls:
                metrics.upstream_calls_per_request.labels(route).observe(tally.upstream_calls)

    return record
