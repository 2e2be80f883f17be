"""One structured access line per request, without query strings, headers or bodies.

The line is written on every request, so in JSON mode it skips structlog's processor chain: its
fields are fixed and built here, only the two a client controls (the path and the user agent) are
scrubbed for secrets, and the line goes out as one write and a flush. In console mode it goes
through structlog like every other line. ``configure_logging`` chooses (:func:`use`); below
``info`` the line is not built at all.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson
import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gateway.obs.redact import scrub
from gateway.obs.tally import TALLY

log = structlog.get_logger("gateway.access")
ERROR_CODE = web.RequestKey("gateway.error_code", str)  # set by the error middleware when it answers one
LICENCE_ID = web.RequestKey("gateway.licence_id", str)  # set by the licence middleware


class _Sink:
    """Where access lines go: ``out`` (a binary stream) for JSON, else structlog; off below info."""

    enabled = True
    out: BinaryIO | None = None


_SINK = _Sink()


def use(*, enabled: bool, json_to: BinaryIO | None) -> None:
    """Write access lines (``enabled``) as JSON straight to ``json_to``, or through structlog."""
    _SINK.enabled, _SINK.out = enabled, json_to


class AccessLogger(AbstractAccessLogger):
    """aiohttp access logger writing ``http_request`` lines."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write the line (the path only: a query string may carry secrets)."""
        fields = _fields(request, response, time)
        out = _SINK.out
        if out is None:
            log.info("http_request", **fields)
            return
        fields["path"] = scrub(fields["path"])
        fields["user_agent"] = scrub(fields["user_agent"])
        line = {
            "event": "http_request",
            **fields,
            "level": "info",
            "logger": "gateway.access",
            "timestamp": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
        }
        out.write(orjson.dumps(line, default=str, option=orjson.OPT_APPEND_NEWLINE))
        out.flush()

    @property
    def enabled(self) -> bool:
        """False below ``info``: aiohttp then does not call :meth:`log`."""
        return _SINK.enabled


def _fields(request: web.BaseRequest, response: web.StreamResponse, time: float) -> dict[str, Any]:
    route, tally, code, licence = "unmatched", None, None, None
    if isinstance(request, web.Request):
        tally, code, licence = request.get(TALLY), request.get(ERROR_CODE), request.get(LICENCE_ID)
        if request.match_info.route.resource is not None:
            route = request.match_info.route.resource.canonical
    return {
        "method": request.method,
        "path": request.path,
        "route": route,
        "status": response.status,
        "code": code,
        "duration_ms": round(time * 1000, 2),
        "request_id": response.headers.get("x-request-id"),
        "licence_id": licence,
        "remote": request.remote,
        "user_agent": request.headers.get("User-Agent", "")[:200],
        "size": response.body_length,
        "upstream_calls": tally.upstream_calls if tally is not None else 0,
    }


def stdout_bytes() -> BinaryIO | None:
    """The binary stream under ``sys.stdout`` (None when it has none, e.g. a captured test stream)."""
    return getattr(sys.stdout, "buffer", None)
