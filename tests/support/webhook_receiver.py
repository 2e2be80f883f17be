"""A webhook receiver for tests: an aiohttp endpoint that records what it is sent, and the
Standard Webhooks signature check written from the spec (not the gateway's code: an independent
witness)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

ServerFactory = Callable[..., Awaitable[TestServer]]


def verified(secret: str, headers: Mapping[str, str], body: bytes, *, now: float) -> bool:
    """A Standard Webhooks receiver's check, written from the spec: HMAC-SHA256 with the secret's
    decoded bytes over "{id}.{timestamp}.{body}", any of the space-separated v1 signatures, and a
    timestamp within five minutes."""
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(value), expected):
            return True
    return False


@dataclass
class Receiver:
    """A webhook endpoint: records each request; answers ``status`` (after ``hold``, if set)."""

    url: str = ""
    status: int = 200
    hold: asyncio.Event | None = None
    got: list[tuple[CIMultiDict[str], bytes]] = field(default_factory=list)  # headers, body
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((CIMultiDict(request.headers), await request.read()))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        return web.Response(status=self.status)


@pytest.fixture
def receiver_factory(aiohttp_server: ServerFactory) -> Callable[[], Awaitable[Receiver]]:
    async def make() -> Receiver:
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        server = await aiohttp_server(app)
        receiver.url = str(server.make_url("/hook"))
        return receiver

    return make
