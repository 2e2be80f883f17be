"""Mounting the console: its guard (always, with the admin API: the admin middleware throttles
wrong keys through it) and its routes (unless ``[console] enabled = false``)."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.config import Settings
from gateway.console import handlers
from gateway.console.assets import AssetBundle
from gateway.console.guard import ConsoleGuard
from gateway.console.handlers import BUNDLE, GUARD, MOUNT


def console_guard(settings: Settings) -> ConsoleGuard | None:
    """The guard of this app's admin API; None while the admin API is off (nothing to guard)."""
    return ConsoleGuard.from_settings(settings) if settings.admin.key_sha256 else None


def add_console_routes(app: web.Application, guard: ConsoleGuard | None) -> None:
    """Serve the console at ``/console`` (same listener as ``/admin``: the admin middleware keeps
    both to the admin listener when there is one)."""
    settings = app[keys.SETTINGS]
    if guard is None or not settings.console.enabled:
        return
    app[GUARD] = guard
    app[BUNDLE] = AssetBundle.load(mount=MOUNT, api_base=settings.server.base_path + "/v1")
    app.router.add_get(MOUNT, handlers.to_page)
    app.router.add_get(MOUNT + "/", handlers.page)
    app.router.add_get(MOUNT + "/static/{version}/{name:.+}", handlers.static_file)
    app.router.add_get(MOUNT + "/session", handlers.session_status)
    app.router.add_post(MOUNT + "/session", handlers.sign_in)
    app.router.add_delete(MOUNT + "/session", handlers.sign_out)
    app.router.add_get(MOUNT + "/media/{media_id}", handlers.media_preview)
