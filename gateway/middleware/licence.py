"""Licence authentication: ``Authorization: Bearer``, ``x-api-key`` or ``x-goog-api-key``.

Cheap by design (a dict lookup by SHA-256), so a flood of wrong keys costs microseconds and never
reaches the pool or upstream. The key is never logged; an error shows at most a masked hint.
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


def presented_key(request: web.Request) -> str:
    """The key the client sent, from the first header that carries one."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key", "").strip() or request.headers.get("x-goog-api-key", "").strip()


def mask(key: str) -> str:
    """A hint of a key safe to show: ``sk-fl***xy``."""
    return f"{key[:5]}***{key[-2:]}" if len(key) > 10 else "***"


def licence_middleware(licences: LicenceLookup, *, exempt: Callable[[web.Request], bool]) -> Middleware:
    """Require a known licence except on exempt requests."""

    @web.middleware
    async def licence(request: web.Request, handler: Handler) -> web.StreamResponse:
        if exempt(request):
            return await handler(request)
        key = presented_key(request)
        if not key:
            raise AuthenticationError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (or x-api-key).",
            )
        found = licences.authenticate(key)
        if found is None:
            raise AuthenticationError(f"Incorrect API key provided: {mask(key)}.")
        request[keys.LICENCE] = found
        request[LICENCE_ID] = found.id
        structlog.contextvars.bind_contextvars(licence_id=found.id)
        return await handler(request)

    return licence
