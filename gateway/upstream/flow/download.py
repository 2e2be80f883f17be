"""Fetching a finished result from its signed, expiring media URL (no credentials needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp

from gateway.upstream.flow.errors import (
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    classify,
    parse_google_error,
)

MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
Write = Callable[[bytes], Awaitable[None]]


async def fetch_media(session: aiohttp.ClientSession, url: str, *, seconds: float, user_agent: str) -> bytes:
    """The bytes at ``url``, bounded in size and time; failures as typed upstream errors."""
    pieces: list[bytes] = []

    async def keep(piece: bytes) -> None:
        pieces.append(piece)

    await fetch_media_into(session, url, keep, seconds=seconds, user_agent=user_agent)
    return b"".join(pieces)


async def fetch_media_into(
    session: aiohttp.ClientSession, url: str, write: Write, *, seconds: float, user_agent: str
) -> None:
    """The bytes at ``url`` handed to ``write`` as they arrive (a video is never held whole),
    bounded in size (announced or not) and time; failures as typed upstream errors."""
    endpoint = "media.download"
    try:
        async with asyncio.timeout(seconds), session.get(url, headers={"User-Agent": user_agent}) as resp:
            if resp.status != 200:
                raise classify(parse_google_error(resp.status, b""), endpoint=endpoint)
            if (resp.content_length or 0) > MAX_DOWNLOAD_BYTES:
                raise UpstreamProtocolError("media too large", endpoint=endpoint)
            total = 0
            async for piece in resp.content.iter_chunked(CHUNK_BYTES):
                total += len(piece)
                if total > MAX_DOWNLOAD_BYTES:  # a chunked answer announces no length
                    raise UpstreamProtocolError("media too large", endpoint=endpoint)
                await write(piece)
    except TimeoutError:
        raise UpstreamTimeoutError(f"{endpoint}: no answer within {seconds:g}s", endpoint=endpoint) from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailableError(f"{endpoint}: {type(exc).__name__}", endpoint=endpoint) from exc
