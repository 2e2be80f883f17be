"""``GET /v1/flow-worker``: the WebSocket browser workers connect to (worker secret, not a licence).

Adapts aiohttp's WebSocket to the hub's channel and message stream; the protocol itself is
``gateway.upstream.flow.workers``. A worker presents its enrolment token (``fwe_…``, one per worker,
revocable: ``service/worker_enrolment.py``) or the shared ``[workers] secret`` (the fallback);
closed (404) while neither a secret is set nor a worker enrolled. The first frame
must be a JSON text ``hello`` of our protocol, within ``HELLO_TIMEOUT``: anything else (a binary
frame, text that is not JSON, another message type) is answered with an ``error`` message and a
close frame whose code and reason say why, and logged as a warning. A worker that goes away is
logged at info; neither is ever an error response.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
from collections.abc import AsyncIterator
from contextlib import nullcontext
from typing import Any

import orjson
import structlog
from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from gateway import keys
from gateway.errors import AuthenticationError, NotFoundError
from gateway.upstream.flow.workers import PROTOCOL

MAX_MESSAGE = 32 * 1024 * 1024
HELLO_TIMEOUT = 30.0  # workers say hello at once; a silent socket is not kept open
MAX_REASON = 120  # a close frame's reason must fit in 123 bytes
log = structlog.get_logger("gateway.api.workers")
_GONE = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)


class HelloRefusedError(Exception):
    """The first frame is not a valid ``hello``; ``code`` and ``reason`` go in the close frame."""

    def __init__(self, code: WSCloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:MAX_REASON]


def parse_hello(frame: WSMessage) -> dict[str, Any]:
    """The ``hello`` message in a worker's first (data) frame, or :class:`HelloRefusedError`."""
    if frame.type is not WSMsgType.TEXT:
        raise HelloRefusedError(WSCloseCode.UNSUPPORTED_DATA, "the first message must be a JSON text frame")
    try:
        message = orjson.loads(frame.data)
    except orjson.JSONDecodeError:
        raise HelloRefusedError(WSCloseCode.POLICY_VIOLATION, "the first message is not JSON") from None
    if not isinstance(message, dict) or message.get("type") != "hello":
        raise HelloRefusedError(WSCloseCode.POLICY_VIOLATION, 'the first message must be {"type": "hello"}')
    if message.get("protocol") != PROTOCOL:
        raise HelloRefusedError(WSCloseCode.POLICY_VIOLATION, f"the hello must say protocol {PROTOCOL}")
    return message


class _Channel:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws.closed:
            raise ConnectionError("worker socket closed")
        await self._ws.send_str(orjson.dumps(message).decode())


async def _messages(ws: web.WebSocketResponse, hello: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield hello
    async for frame in ws:
        if frame.type is not WSMsgType.TEXT:
            continue
        try:
            message = orjson.loads(frame.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(message, dict):
            yield message


async def _hello(ws: web.WebSocketResponse) -> dict[str, Any] | None:
    """The worker's hello; ``None`` when it left first or was refused (the socket is then closed)."""
    try:
        async with asyncio.timeout(HELLO_TIMEOUT):
            frame = await ws.receive()
    except TimeoutError:
        silent = HelloRefusedError(WSCloseCode.POLICY_VIOLATION, f"no hello within {HELLO_TIMEOUT:g}s")
        await _refuse(ws, silent)
        return None
    if frame.type in _GONE:
        log.info("worker_left_before_hello")
        return None
    try:
        return parse_hello(frame)
    except HelloRefusedError as refusal:
        await _refuse(ws, refusal)
        return None


async def _refuse(ws: web.WebSocketResponse, refusal: HelloRefusedError) -> None:
    """Say why in our protocol (an ``error`` message) and in the close frame, then close."""
    log.warning("worker_hello_refused", close_code=int(refusal.code), reason=refusal.reason)
    with contextlib.suppress(ConnectionError):  # it may not wait to hear why
        if not ws.closed:
            await ws.send_str(orjson.dumps({"type": "error", "error": refusal.reason}).decode())
        await ws.close(code=refusal.code, message=refusal.reason.encode())


def _secret_of(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else request.query.get("key", "")


async def _enrolment_of(request: web.Request) -> str:
    """The enrolment id of the worker's token ("" for the shared secret), or a 401 (a 404 while
    neither a secret is set nor a worker enrolled: the socket is then closed to everyone)."""
    secret, presented = request.app[keys.SETTINGS].workers.secret, _secret_of(request)
    if secret and hmac.compare_digest(presented.encode(), secret.encode()):
        return ""
    enrolments = request.app[keys.ENROLMENTS]
    enrolment = await enrolments.verify(presented)
    if enrolment is not None:
        return enrolment.id
    if not secret and not await enrolments.exist():
        raise NotFoundError("browser workers are not enabled (no [workers] secret, no worker enrolled)")
    raise AuthenticationError("Incorrect worker secret or enrolment token.")


async def worker_socket(request: web.Request) -> web.StreamResponse:
    """Authenticate the worker, check its hello, then hand the socket to the hub until it closes."""
    settings = request.app[keys.SETTINGS].workers
    enrolment_id = await _enrolment_of(request)
    ws = web.WebSocketResponse(heartbeat=settings.heartbeat, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    revoked = functools.partial(ws.close, code=WSCloseCode.POLICY_VIOLATION, message=b"enrolment revoked")
    with request.app[keys.ENROLMENTS].attached(enrolment_id, revoked) if enrolment_id else nullcontext():
        hello = await _hello(ws)
        if hello is not None:
            try:
                await request.app[keys.WORKERS].serve(_Channel(ws), _messages(ws, hello))
            except ConnectionError:  # the worker went away while we wrote to it: the hub let it go
                log.info("worker_socket_closed", close_code=ws.close_code)
    await ws.close()
    return ws
