"""Rendering domain results as OpenAI JSON, and building the gateway's own public URLs."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from gateway import keys
from gateway.media.signing import UrlSigner


def json_response(doc: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """An ``application/json`` response serialised with orjson (dataclasses included)."""
    return web.Response(
        body=orjson.dumps(doc), status=status, content_type="application/json", headers=headers
    )


def public_base(request: web.Request) -> str:
    """The externally visible origin: configured, else forwarded headers (if trusted), else the request's."""
    settings = request.app[keys.SETTINGS].server
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.trust_forwarded:
        proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        return f"{proto}://{host}"
    return f"{request.scheme}://{request.host}"


def media_url(request: web.Request, media_id: str) -> str:
    """A signed, expiring URL of a stored result, openable without the licence header."""
    signer: UrlSigner = request.app[keys.SIGNER]
    expires, signature = signer.sign(media_id)
    base_path = request.app[keys.SETTINGS].server.base_path
    return f"{public_base(request)}{base_path}/v1/media/{media_id}?expires={expires}&signature={signature}"
