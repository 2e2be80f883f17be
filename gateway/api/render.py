"""Rendering domain results as OpenAI JSON, and building the gateway's own public URLs.

A JSON body larger than ``STREAM_ABOVE`` (base64 images) is not handed to the transport whole: it is
written in 64 KiB chunks, each waiting for the connection to drain, so a slow reader holds a few
chunks in aiohttp's buffer instead of the whole body. Bytes wrapped in :class:`Base64Bytes` are
base64-encoded one slice at a time while being written, with a turn of the event loop between
slices, so encoding never holds the loop for more than ~60 us and the whole base64 string never
exists. (Encoding in a thread would not help: base64 and orjson keep the GIL while they run.)
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from collections.abc import Iterator
from typing import Any

import orjson
import structlog
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from gateway import keys
from gateway.media.signing import UrlSigner

log = structlog.get_logger("gateway.api.render")
STREAM_ABOVE = 256 * 1024  # smaller bodies go out as one ordinary body
WRITE_CHUNK = 64 * 1024  # aiohttp's writer drains once more than 64 KiB are pending
RAW_CHUNK = WRITE_CHUNK // 4 * 3  # 48 KiB -> 64 KiB of base64; a multiple of 3, so slices join up
_PLACEHOLDER = re.compile(rb'"b64-([0-9a-f]{16})-(\d+)"')  # compiled once; the nonce is checked per match


class Base64Bytes:
    """Bytes that render as a base64 JSON string, encoded only when (and as) they are sent."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def encoded_size(self) -> int:
        """Length of the base64 text, padding included."""
        return 4 * ((len(self.data) + 2) // 3)


Piece = bytes | Base64Bytes


class JsonPayload(Payload):
    """A large JSON body, written chunk by chunk as the connection drains (see the module)."""

    def __init__(self, pieces: list[Piece], size: int) -> None:
        super().__init__(pieces, content_type="application/json")
        self._pieces = pieces
        self._size = size
        # Encoding costs ~60 us a chunk: other requests get the loop between chunks. Bytes already
        # encoded only cost a copy, and yielding there measured worse (big handlers bunch up).
        self._encodes = any(isinstance(p, Base64Bytes) for p in pieces)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The whole body as text (aiohttp's API; never used to send it)."""
        return b"".join(body_chunks(self._pieces)).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write the body; a client that leaves midway is one info line (aiohttp then lets it go)."""
        sent = 0
        try:
            for chunk in body_chunks(self._pieces):
                await writer.write(chunk)  # waits for the transport to drain past 64 KiB pending
                sent += len(chunk)
                if self._encodes:
                    await asyncio.sleep(0)
        except ConnectionError:  # reset while writing, or lost while waiting for the drain
            log.info("client_disconnected", sent=sent, size=self._size)
            raise


def json_response(
    doc: Any, *, status: int = 200, headers: dict[str, str] | None = None, option: int = 0
) -> web.Response:
    """An ``application/json`` response serialised with orjson (dataclasses included; ``option``:
    orjson's, e.g. indented as Google's API answers); a large one streamed with backpressure, its
    ``Base64Bytes`` encoded as they are written."""
    pieces = json_pieces(doc, option=option)
    size = sum(len(p) if isinstance(p, bytes) else p.encoded_size for p in pieces)
    if size > STREAM_ABOVE:
        return web.Response(body=JsonPayload(pieces, size), status=status, headers=headers)
    body = pieces[0] if len(pieces) == 1 and isinstance(pieces[0], bytes) else b"".join(body_chunks(pieces))
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


def peer_closed(request: web.Request) -> bool:
    """True when the client's side of the connection is gone (a write now fails)."""
    return request.transport is None or request.transport.is_closing()


def json_pieces(doc: Any, *, option: int = 0) -> list[Piece]:
    """``doc`` serialised, split around its ``Base64Bytes`` values (left for the writer to encode)."""
    later: list[Base64Bytes] = []
    nonce = ""  # drawn at the first placeholder: most bodies have none

    def placeholder(value: object) -> str:
        nonlocal nonce
        if isinstance(value, Base64Bytes):
            nonce = nonce or secrets.token_hex(8)  # random: no string of the client's can look like one
            later.append(value)
            return f"b64-{nonce}-{len(later) - 1}"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = orjson.dumps(doc, default=placeholder, option=option)
    if not later:
        return [text]  # nothing to encode later: no need to scan a large text for placeholders
    pieces: list[Piece] = []
    start, mine = 0, nonce.encode()
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) != mine:
            continue  # a client's string shaped like a placeholder (it cannot know the nonce)
        pieces += [text[start : match.start() + 1], later[int(match.group(2))]]  # keeps the quotes
        start = match.end() - 1
    pieces.append(text[start:])
    return pieces


def body_chunks(pieces: list[Piece]) -> Iterator[bytes | memoryview]:
    """The body in chunks of about ``WRITE_CHUNK`` bytes, base64 encoded one slice at a time; the
    small pieces between (JSON around the base64) ride along with their neighbours."""
    pending = bytearray()
    for piece in pieces:
        for part in _parts(piece):
            if not pending and len(part) >= WRITE_CHUNK:
                yield part  # a whole chunk already: no copy
                continue
            pending += part
            if len(pending) >= WRITE_CHUNK:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


def _parts(piece: Piece) -> Iterator[bytes | memoryview]:
    if isinstance(piece, Base64Bytes):
        raw = memoryview(piece.data)
        for start in range(0, len(raw), RAW_CHUNK):
            yield base64.b64encode(raw[start : start + RAW_CHUNK])
        return
    text = memoryview(piece)
    for start in range(0, len(text), WRITE_CHUNK):
        yield text[start : start + WRITE_CHUNK]


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


def media_url(request: web.Request, media_id: str, *, made_at: float | None = None) -> str:
    """A signed, expiring URL of a stored result, openable without the licence header (``made_at``:
    when it was stored, if known; see ``UrlSigner.sign``)."""
    return signed_media_url(request.app, public_base(request), media_id, made_at=made_at)


def signed_media_url(app: web.Application, base: str, media_id: str, *, made_at: float | None = None) -> str:
    """:func:`media_url` under a known origin (a webhook has no request to take it from)."""
    signer: UrlSigner = app[keys.SIGNER]
    expires, signature = signer.sign(media_id, made_at=made_at)
    base_path = app[keys.SETTINGS].server.base_path
    return f"{base}{base_path}/v1/media/{media_id}?expires={expires}&signature={signature}"
