"""Admin authentication: ``/admin/...`` needs the admin key, which is never a licence (and vice versa).

The admin API is off (404) until ``[admin] key_sha256`` is set; only the key's SHA-256 is kept.
The key is sent as ``Authorization: Bearer <key>`` or ``x-admin-key``. Paths outside ``/admin``
pass untouched (the licence middleware guards those). With ``[admin] listen``, ``/admin`` answers
only on that listener's port and is a 404 on the public one: told apart by the local port the
connection arrived on, which no client header can fake.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.errors import AuthenticationError, NotFoundError
from gateway.licensing import hash_key

PREFIX = "/admin"


def is_admin_path(path: str) -> bool:
    """True for ``/admin`` and everything below it."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _presented(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-admin-key", "").strip()


def local_port(request: web.Request) -> int | None:
    """The port of this server the request's connection arrived on (None once it is gone)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return int(sockname[1]) if isinstance(sockname, tuple) and len(sockname) >= 2 else None


def admin_middleware(key_sha256: str, *, admin_port: int = 0) -> Middleware:
    """Require the admin key on admin paths (and, with ``admin_port``, that listener)."""

    @web.middleware
    async def admin(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_admin_path(request.path):
            return await handler(request)
        if admin_port and local_port(request) != admin_port:
            raise NotFoundError(f"Invalid URL ({request.method} {request.path})")
        if not key_sha256:
            raise NotFoundError("the admin API is not enabled ([admin] key_sha256 is empty)")
        key = _presented(request)
        if not key or len(key) > 512 or not hmac.compare_digest(hash_key(key), key_sha256):
            raise AuthenticationError("Incorrect or missing admin key.")
        return await handler(request)

    return admin
