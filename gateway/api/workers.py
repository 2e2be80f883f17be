"""``GET /v1/flow-worker``: the WebSocket browser workers connect to (worker secret, not a licence).

Adapts aiohttp's WebSocket to the hub's channel and message stream; the protocol itself is
``gateway.upstream.flow.workers``. Closed (404) unless ``[workers] secret`` is set.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from gateway import keys
from gateway.errors import AuthenticationError, NotFoundError

MAX_MESSAGE = 32 * 1024 * 1024


class _Channel:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws.closed:
            raise ConnectionError("worker socket closed")
        await self._ws.send_str(orjson.dumps(message).decode())


async def _messages(ws: web.WebSocketResponse) -> AsyncIterator[dict[str, Any]]:
    async for frame in ws:
        if frame.type is not WSMsgType.TEXT:
            continue
        try:
            message = orjson.loads(frame.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(message, dict):
            yield message


def _secret_of(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else request.query.get("key", "")


async def worker_socket(request: web.Request) -> web.StreamResponse:
    """Authenticate the worker, then hand the socket to the hub until it closes."""
    settings = request.app[keys.SETTINGS].workers
    if not settings.secret:
        raise NotFoundError("browser workers are not enabled ([workers] secret is empty)")
    if not hmac.compare_digest(_secret_of(request).encode(), settings.secret.encode()):
        raise AuthenticationError("Incorrect worker secret.")
    ws = web.WebSocketResponse(heartbeat=settings.heartbeat, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    await request.app[keys.WORKERS].serve(_Channel(ws), _messages(ws))
    await ws.close()
    return ws
