"""The console's own routes: its page and files, signing in and out, and media previews.

Everything else the console shows comes from ``/admin`` (and the playground from the public API),
through the admin middleware, which accepts this module's session cookie in place of the key.
"""

from __future__ import annotations

import urllib.parse

import orjson
from aiohttp import web

from gateway import keys
from gateway.api.render import signed_media_url
from gateway.console.assets import Asset, AssetBundle
from gateway.console.guard import COOKIE, ConsoleGuard
from gateway.console.sessions import Session
from gateway.errors import AuthenticationError, InvalidRequestError, NotFoundError, PermissionDeniedError
from gateway.middleware.admin import CSRF_HEADER, check_admin_key

GUARD = web.AppKey("gateway.console_guard", ConsoleGuard)
BUNDLE = web.AppKey("gateway.console_assets", AssetBundle)
MOUNT = "/console"
YEAR = 365 * 24 * 3600
# The page runs only its own files: no inline script or style, nothing from another origin, never
# framed (clickjacking). Results are same-origin signed URLs, or blobs the playground downloaded.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
NO_STORE = {"Cache-Control": "no-store"}  # a CSRF token is never kept by a cache
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": PAGE_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _json(doc: dict[str, object], *, status: int = 200) -> web.Response:
    """JSON never kept by a cache (a session document holds a CSRF token)."""
    body = orjson.dumps(doc)
    return web.Response(body=body, status=status, content_type="application/json", headers=NO_STORE)


def _send(request: web.Request, asset: Asset, headers: dict[str, str]) -> web.Response:
    response = web.Response(body=asset.body, headers=headers, content_type=asset.content_type)
    if asset.gzipped is not None:
        response.headers["Vary"] = "Accept-Encoding"
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.body = asset.gzipped
            response.headers["Content-Encoding"] = "gzip"
    return response


async def to_page(_: web.Request) -> web.Response:
    """``GET /console``: to ``/console/`` (the page's own URL)."""
    raise web.HTTPFound(MOUNT + "/")


async def page(request: web.Request) -> web.Response:
    """``GET /console/``: the single page (it names the current bundle, so it is never cached)."""
    return _send(request, request.app[BUNDLE].index, dict(PAGE_HEADERS))


async def static_file(request: web.Request) -> web.Response:
    """``GET /console/static/{version}/{name}``: a file of the bundle, cached for a year when the
    version is the current one (an old page asking for an old version gets today's file, uncached)."""
    bundle = request.app[BUNDLE]
    asset = bundle.files.get(request.match_info["name"])
    if asset is None:
        raise NotFoundError(f"Invalid URL ({request.method} {request.path})")
    current = request.match_info["version"] == bundle.version
    cache = f"public, max-age={YEAR}, immutable" if current else "no-cache"
    return _send(request, asset, {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


def _session_doc(session: Session) -> dict[str, object]:
    return {
        "object": "console.session",
        "signed_in": True,
        "csrf_token": session.csrf_token,
        "csrf_header": CSRF_HEADER,
        "expires_at": session.expires_at,
    }


def _session_or_401(request: web.Request) -> Session:
    session = request.app[GUARD].session(request)
    if session is None:
        raise AuthenticationError("Sign in to the console first.", code="console_signed_out")
    return session


async def session_status(request: web.Request) -> web.Response:
    """``GET /console/session``: whether this browser is signed in, and then the session's CSRF
    token and expiry (a 200 either way: the page asks at every load, signed out is no error). Only
    a page of this origin can read it (SameSite cookie, and no CORS credentials are ever allowed)."""
    session = request.app[GUARD].session(request)
    if session is None:
        return _json({"object": "console.session", "signed_in": False})
    return _json(_session_doc(session))


async def _presented_key(request: web.Request) -> str:
    # JSON only: a cross-site HTML form can post text/plain or a form encoding, never JSON.
    if request.content_type != "application/json":
        raise InvalidRequestError('Sign in with a JSON body {"key": "<admin key>"}.', param="key")
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequestError("the body must be JSON", code="invalid_json") from None
    key = body.get("key") if isinstance(body, dict) else None
    if not isinstance(key, str):
        raise InvalidRequestError('Sign in with a JSON body {"key": "<admin key>"}.', param="key")
    return key.strip()


async def sign_in(request: web.Request) -> web.Response:
    """``POST /console/session`` ``{"key"}``: the admin key exchanged for a session cookie (a new
    session every time: a cookie set before signing in is never promoted)."""
    guard = request.app[GUARD]
    key = await _presented_key(request)
    check_admin_key(request, key, request.app[keys.SETTINGS].admin.key_sha256, guard)
    guard.sessions.close(request.cookies.get(COOKIE, ""))
    session_id, session = guard.sessions.open()
    response = _json(_session_doc(session), status=201)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(guard.ttl),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=guard.secure(request),
    )
    return response


async def sign_out(request: web.Request) -> web.Response:
    """``DELETE /console/session``: the session ends here and now (its CSRF token required)."""
    guard = request.app[GUARD]
    session = guard.session(request)
    if session is not None:
        if not session.accepts(request.headers.get(CSRF_HEADER, "")):
            raise _csrf_refused()
        guard.sessions.close(request.cookies.get(COOKIE, ""))
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/", samesite="Strict", secure=guard.secure(request))
    return response


def _csrf_refused() -> PermissionDeniedError:
    return PermissionDeniedError(
        f"Signing out needs the session's CSRF token in {CSRF_HEADER}.", code="csrf_token_invalid"
    )


async def media_preview(request: web.Request) -> web.Response:
    """``GET /console/media/{media_id}``: to a signed URL of a stored result (what the task list
    previews; the admin API lists media ids, and only a licence or a signature opens them)."""
    _session_or_401(request)
    media_id = urllib.parse.quote(request.match_info["media_id"], safe="")
    # A path on this origin, not [server] public_url's: the page may only load its own origin's
    # media, and on the admin listener the public address may be another origin altogether.
    raise web.HTTPFound(signed_media_url(request.app, "", media_id))
