"""Wire faults: a broken HTTP exchange rather than an error answer (``faults.WIRE_KINDS``).

The call wrapper hands these kinds here instead of to the handler: ``truncate``, ``garbage`` and
``slow_body`` run the handler first (through ``answer``) and break its answer on the way out;
``reset`` and ``cdn_error_page`` answer without it. Each returns the response the wrapper records:
its status is what the statistics show (200 for a cut or trickled body, ``RESET`` for a reset,
``CLIENT_GONE`` when the client left a trickle, 503 when shutdown ended it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.simulator.faults import Fault

HANG_POLL = 0.05  # seconds between checks that a held call's client is still there
CLIENT_GONE = 499  # recorded (nginx's convention) when the client left before the answer
RESET = 444  # recorded (nginx's "connection closed without response") for a reset
SHUTTING_DOWN = 503
SLOW_CHUNK = 256  # bytes per chunk of a slow_body
MIN_GARBAGE = 64
# Framing headers are the wire's, recomputed for the answer actually sent.
FRAMING = frozenset({"content-length", "transfer-encoding", "content-encoding"})
# What a CDN's front end answers when its origin fails: a 200 HTML page, not the media.
CDN_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n"
    "<title>Error 502 (Server Error)!!1</title>\n"
    "<p><b>502.</b> <ins>That’s an error.</ins>\n"
    "<p>The server encountered a temporary error and could not complete your request."
    "<p>Please try again in 30 seconds. <ins>That’s all we know.</ins>\n"
)

Answer = Callable[[], Awaitable[web.StreamResponse]]


async def play(
    fault: Fault,
    request: web.Request,
    answer: Answer,
    *,
    closing: asyncio.Event,
    noise: Callable[[int], bytes],
) -> web.StreamResponse:
    """Act out ``fault`` on this call; ``answer`` runs the route's handler (an error answer included)."""
    if fault.kind == "reset":
        return reset(request)
    if fault.kind == "cdn_error_page":
        return web.Response(text=CDN_ERROR_PAGE, content_type="text/html", charset="utf-8")
    original = await answer()
    if fault.kind == "garbage":
        return garbage(original, noise)
    if fault.kind == "truncate":
        return await truncate(request, original)
    return await trickle(request, original, delay=fault.delay or 1.0, closing=closing)


def body_of(response: web.StreamResponse) -> bytes:
    """The bytes of a handler's answer (every simulator handler answers a ``web.Response``)."""
    body = response.body if isinstance(response, web.Response) else None
    return body if isinstance(body, bytes) else b""


def reset(request: web.Request) -> web.StreamResponse:
    """Close the connection with a TCP reset (SO_LINGER 0) before any byte of an answer."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # aiohttp fails to write this to the aborted transport and drops it; the wrapper records it.
    return web.Response(status=RESET)


def garbage(original: web.StreamResponse, noise: Callable[[int], bytes]) -> web.StreamResponse:
    """Status 200, the answer's Content-Type, random bytes for a body (a NUL first: never JSON)."""
    size = max(MIN_GARBAGE, len(body_of(original)))
    content_type = original.headers.get("Content-Type", "application/json")
    return web.Response(body=b"\x00" + noise(size - 1), headers={"Content-Type": content_type})


async def truncate(request: web.Request, original: web.StreamResponse) -> web.StreamResponse:
    """The answer's status and headers with its full Content-Length, half its body, then close."""
    body = body_of(original)
    response = _streamed_like(original, max(1, len(body)))  # an empty answer is cut short too
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        await response.write(body[: len(body) // 2])
    _close(request)
    return response


async def trickle(
    request: web.Request, original: web.StreamResponse, *, delay: float, closing: asyncio.Event
) -> web.StreamResponse:
    """The answer with its body in ``SLOW_CHUNK`` pieces, ``delay`` seconds before each."""
    body = body_of(original)
    response = _streamed_like(original, len(body))
    await response.prepare(request)
    for start in range(0, len(body), SLOW_CHUNK):
        stopped = await _pause(request, closing, delay)
        if stopped is not None:
            _close(request)
            return web.Response(status=stopped)
        try:
            await response.write(body[start : start + SLOW_CHUNK])
        except ConnectionError:
            return web.Response(status=CLIENT_GONE)
    return response


async def _pause(request: web.Request, closing: asyncio.Event, seconds: float) -> int | None:
    """Wait ``seconds``; the status to record instead if the client left or shutdown began."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        if closing.is_set():
            return SHUTTING_DOWN
        if gone(request):
            return CLIENT_GONE
        left = end - loop.time()
        if left <= 0:
            return None
        await asyncio.sleep(min(HANG_POLL, left))  # a plain sleep: a cancelled handler stops at once


def gone(request: web.Request) -> bool:
    """True when the client's connection is closed or closing."""
    transport = request.transport
    return transport is None or transport.is_closing()


def _streamed_like(original: web.StreamResponse, length: int) -> web.StreamResponse:
    headers = {k: v for k, v in original.headers.items() if k.lower() not in FRAMING}
    response = web.StreamResponse(status=original.status, headers=headers)
    response.content_length = length
    return response


def _close(request: web.Request) -> None:
    """Close the connection after what was written (a FIN, not a reset: the client reads the part)."""
    if request.transport is not None:
        request.transport.close()
