"""Admin authentication: ``/admin/...`` needs the admin key, which is never a licence (and vice versa).

The admin API is off (404) until ``[admin] key_sha256`` is set; only the key's SHA-256 is kept.
The key is sent as ``Authorization: Bearer <key>`` or ``x-admin-key``. Paths outside ``/admin``
pass untouched (the licence middleware guards those).
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


def admin_middleware(key_sha256: str) -> Middleware:
    """Require the admin key on admin paths."""

    @web.middleware
    async def admin(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_admin_path(request.path):
            return await handler(request)
        if not key_sha256:
            raise NotFoundError("the admin API is not enabled ([admin] key_sha256 is empty)")
        key = _presented(request)
        if not key or len(key) > 512 or not hmac.compare_digest(hash_key(key), key_sha256):
            raise AuthenticationError("Incorrect or missing admin key.")
        return await handler(request)

    return admin
