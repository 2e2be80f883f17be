"""Licence authentication: ``Authorization: Bearer``, ``x-api-key`` or ``x-goog-api-key`` (``?key=``
on Google's paths, as its docs pass it).

Cheap by design (a dict lookup by SHA-256), so a flood of wrong keys costs microseconds and never
reaches the pool or upstream. A known key of a revoked, disabled or expired licence is a 403 that
says which (an unknown key stays a 401). The key is never logged; an error shows at most a masked hint.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway import keys
from gateway.errors import AuthenticationError
from gateway.licensing import LicenceLookup
from gateway.obs.access_log import LICENCE_ID


def presented_key(request: web.Request, *, query_param: str = "") -> str:
    """The key the client sent, from the first header that carries one (else ``?query_param=``)."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    found = request.headers.get("x-api-key", "").strip() or request.headers.get("x-goog-api-key", "").strip()
    return found or (request.query.get(query_param, "").strip() if query_param else "")


def _never(_: web.Request) -> bool:
    return False


def mask(key: str) -> str:
    """A hint of a key safe to show: ``sk-fl***xy``."""
    return f"{key[:5]}***{key[-2:]}" if len(key) > 10 else "***"


def licence_middleware(
    licences: LicenceLookup,
    *,
    exempt: Callable[[web.Request], bool],
    key_in_query: Callable[[web.Request], bool] = _never,
) -> Middleware:
    """Require a known licence except on exempt requests. Requests ``key_in_query`` picks (Google's
    dialect, whose docs pass ``?key=``) may carry it in the query; the access log never writes queries."""

    @web.middleware
    async def licence(request: web.Request, handler: Handler) -> web.StreamResponse:
        if exempt(request):
            return await handler(request)
        key = presented_key(request, query_param="key" if key_in_query(request) else "")
        if not key:
            raise AuthenticationError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (or x-api-key).",
            )
        found = licences.authenticate(key)
        if found is None:
            raise AuthenticationError(f"Incorrect API key provided: {mask(key)}.")
        licences.ensure_usable(found)  # 403 licence_revoked / licence_disabled / licence_expired
        request[keys.LICENCE] = found
        request[LICENCE_ID] = found.id
        structlog.contextvars.bind_contextvars(licence_id=found.id)
        return await handler(request)

    return licence
