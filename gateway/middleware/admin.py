"""Admin authentication: ``/admin/...`` needs the admin key, which is never a licence (and vice versa).

The admin API is off (404) until ``[admin] key_sha256`` is set; only the key's SHA-256 is kept.
The key is sent as ``Authorization: Bearer <key>`` or ``x-admin-key``. Paths outside ``/admin``
pass untouched (the licence middleware guards those). With ``[admin] listen``, ``/admin`` answers
only on that listener's port and is a 404 on the public one: told apart by the local port the
connection arrived on, which no client header can fake.

The operator console (``/console``, ``gateway.console``) lives on the same listener, and only while
the admin API is on; its pages load without the key (the sign-in page must), its session cookie
then stands for the key on ``/admin``: a state-changing call with the cookie must also carry the
session's CSRF token in ``x-csrf-token`` (403 ``csrf_token_invalid`` otherwise). A bearer key, when
sent, is what counts (scripts behave exactly as before), and wrong keys are slowed down per
address through the same guard the console's sign-in uses.
"""

from __future__ import annotations

import hmac
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.errors import AuthenticationError, NoCapacityError, NotFoundError, PermissionDeniedError
from gateway.licensing import hash_key

PREFIX = "/admin"
CONSOLE_PREFIX = "/console"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # read-only: no CSRF token asked
MAX_KEY_LENGTH = 512


class AdminGuard(Protocol):
    """Console sessions and the wrong-key throttle (``gateway.console.guard``, passed in by the app)."""

    def session_csrf(self, request: web.Request) -> str | None:
        """The CSRF token of the live console session the request's cookie names, or None."""
        ...

    def locked_for(self, request: web.Request) -> float:
        """Seconds until the request's address may present a key again (0: now)."""
        ...

    def key_failed(self, request: web.Request) -> None:
        """Count a wrong key from the request's address."""
        ...

    def key_passed(self, request: web.Request) -> None:
        """A right key: the request's address starts afresh."""
        ...


def is_admin_path(path: str) -> bool:
    """True for ``/admin`` and everything below it."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def is_console_path(path: str) -> bool:
    """True for ``/console`` and everything below it."""
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


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


def check_admin_key(request: web.Request, key: str, key_sha256: str, guard: AdminGuard | None) -> None:
    """Raise unless ``key`` is the admin key: 429 while the address is locked out (the key is then
    not even compared), 401 when it is wrong or missing (a wrong one counts against the address)."""
    if guard is not None and (wait := guard.locked_for(request)) > 0:
        raise NoCapacityError(
            "Too many wrong admin keys from this address; wait and try again.", retry_after=wait
        )
    if not key or len(key) > MAX_KEY_LENGTH or not hmac.compare_digest(hash_key(key), key_sha256):
        if key and guard is not None:  # a missing key is no guess
            guard.key_failed(request)
        raise AuthenticationError("Incorrect or missing admin key.")
    if guard is not None:
        guard.key_passed(request)


def _authenticate(request: web.Request, key_sha256: str, guard: AdminGuard | None) -> None:
    """The bearer key when one is sent; else a console session, with its CSRF token on a change."""
    key = _presented(request)
    csrf = guard.session_csrf(request) if guard is not None and not key else None
    if csrf is None:
        check_admin_key(request, key, key_sha256, guard)
        return
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode(), csrf.encode()):
            raise PermissionDeniedError(
                f"A console session's change must carry its CSRF token in {CSRF_HEADER}.",
                code="csrf_token_invalid",
            )


def admin_middleware(key_sha256: str, *, admin_port: int = 0, guard: AdminGuard | None = None) -> Middleware:
    """Require the admin key (or a console session) on admin paths; with ``admin_port``, keep the
    admin API and the console to that listener."""

    @web.middleware
    async def admin(request: web.Request, handler: Handler) -> web.StreamResponse:
        console = is_console_path(request.path)
        if not console and not is_admin_path(request.path):
            return await handler(request)
        if admin_port and local_port(request) != admin_port:
            raise NotFoundError(f"Invalid URL ({request.method} {request.path})")
        if not key_sha256:
            raise NotFoundError("the admin API is not enabled ([admin] key_sha256 is empty)")
        if not console:  # the console's own routes say what they need (its pages: nothing)
            _authenticate(request, key_sha256, guard)
        return await handler(request)

    return admin
