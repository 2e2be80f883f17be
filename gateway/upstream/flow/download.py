"""Fetching a finished result from its signed, expiring media URL (no credentials needed)."""

from __future__ import annotations

import asyncio

import aiohttp

from gateway.upstream.flow.errors import (
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    classify,
    parse_google_error,
)

MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024


async def fetch_media(session: aiohttp.ClientSession, url: str, *, seconds: float, user_agent: str) -> bytes:
    """The bytes at ``url``, bounded in size and time; failures as typed upstream errors."""
    endpoint = "media.download"
    try:
        async with asyncio.timeout(seconds), session.get(url, headers={"User-Agent": user_agent}) as resp:
            if resp.status != 200:
                raise classify(parse_google_error(resp.status, b""), endpoint=endpoint)
            if (resp.content_length or 0) > MAX_DOWNLOAD_BYTES:
                raise UpstreamProtocolError("media too large", endpoint=endpoint)
            return await resp.content.read()
    except TimeoutError:
        raise UpstreamTimeoutError(f"{endpoint}: no answer within {seconds:g}s", endpoint=endpoint) from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailableError(f"{endpoint}: {type(exc).__name__}", endpoint=endpoint) from exc
