"""Scenario 7: a slow client (about 1 KB/s) reading a large (1.5 MB) b64 image response. Memory stays
bounded through backpressure: what the gateway holds for that connection (its transport's write
buffer) is at most 1 MB. The kernel's send queue is measured too (``TIOCOUTQ``) and named in the
failure message: it is the operating system's buffer (``net.ipv4.tcp_wmem``), not the gateway's.
Here the kernel is left its default buffers; ``test_pending_slow_client`` caps them."""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import termios
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aiohttp import web

from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY
from tests.reliability.support import THREE, Served, eventually

MB = 1024 * 1024
READ_RATE = 1024  # bytes per second
BODY = {"model": "nano_banana", "prompt": "a lighthouse", "n": 4, "response_format": "b64_json"}


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """Full-size images at four times their pixels: about 270 KB each, 1.5 MB of b64 for four."""
    return SimulatorConfig(image_scale=4.0, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@dataclass
class Buffered:
    """What is queued for one server-side connection: in the gateway's transport, in the kernel."""

    transport: int = 0
    kernel: int = 0


def server_side(runner: web.AppRunner) -> Any:
    """The gateway's one client connection (the slow client's)."""
    assert runner.server is not None
    (connection,) = runner.server.connections
    return connection.transport


def buffered(transport: Any) -> Buffered:
    if transport is None or transport.is_closing():
        return Buffered()
    sock = transport.get_extra_info("socket")
    queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    return Buffered(transport.get_write_buffer_size(), queued)


async def slow_client(gateway: Served) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection with a small receive buffer (so the kernel does not read ahead for it)."""
    host, port = gateway.url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=READ_RATE)
    await eventually(lambda: bool(gateway.runner.server and gateway.runner.server.connections))
    return reader, writer


async def ask(writer: asyncio.StreamWriter, auth: dict[str, str]) -> None:
    """Send the image request (keep-alive: the connection stays measurable after the answer)."""
    host = "127.0.0.1"
    body = orjson.dumps(BODY)
    head = (
        f"POST /v1/images/generations HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: {auth['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()


async def read_slowly(gateway: Served, auth: dict[str, str], *, sndbuf: int | None = None) -> Buffered:
    """The most the gateway's side of a slow reader's connection held, over five seconds at 1 KB/s
    (``sndbuf``: the send buffer the kernel gives that socket, else its default)."""
    reader, writer = await slow_client(gateway)
    transport = server_side(gateway.runner)
    if sndbuf is not None:
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    await ask(writer, auth)
    try:
        status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 200"), status
        peak = Buffered()
        await eventually(lambda: buffered(transport).transport + buffered(transport).kernel > 0, within=10)
        for _ in range(5):  # five seconds at 1 KB/s
            now = buffered(transport)
            peak = Buffered(max(peak.transport, now.transport), max(peak.kernel, now.kernel))
            assert await reader.read(READ_RATE)
            await asyncio.sleep(1.0)  # the client's pace, not a wait for the gateway
    finally:
        writer.close()
    return peak


async def test_a_slow_reader_is_held_back_by_backpressure(served: Any, auth: dict[str, str]) -> None:
    gateway: Served = await served(accounts=THREE)
    peak = await read_slowly(gateway, auth)
    figures = f"gateway buffer {peak.transport} B, kernel send queue {peak.kernel} B"
    assert peak.transport <= MB, figures
