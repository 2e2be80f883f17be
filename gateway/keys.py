"""Every typed application and request key, in one place.

Values are read as ``request.app[keys.POOL]`` and ``request[keys.REQUEST_ID]``; string keys are
never used. Application keys carry a ``gateway.`` prefix in their names.
"""

from __future__ import annotations

from aiohttp import web

from gateway.config import Settings

SETTINGS = web.AppKey("gateway.settings", Settings)

# Request-scoped values set by the middleware.
REQUEST_ID = web.RequestKey("gateway.request_id", str)
