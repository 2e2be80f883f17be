"""The upstream HTTP sessions: created once per app, one per Flow host, closed on shutdown.

This is the only module that creates ``aiohttp.ClientSession`` objects for Flow. Every session has
an explicit timeout, ``raise_for_status=False`` and a ``DummyCookieJar`` (accounts authenticate
with explicit per-request headers; a shared jar would carry one account's cookies into another's
calls), plus trace configs that feed the upstream metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import yarl

from gateway.config import FlowSettings


@dataclass(frozen=True, slots=True)
class FlowSessions:
    """One session per upstream host, plus one for signed media downloads (any host)."""

    labs: aiohttp.ClientSession
    api: aiohttp.ClientSession
    downloads: aiohttp.ClientSession


def _origin(url: str) -> yarl.URL:
    parsed = yarl.URL(url)
    if not parsed.is_absolute() or parsed.path not in {"", "/"}:
        raise ValueError(f"base URL must be an origin such as https://host:port, got {url!r}")
    return parsed.origin()


def _session(
    settings: FlowSettings, base_url: yarl.URL | None, trace_configs: Sequence[aiohttp.TraceConfig]
) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(
        total=None, connect=settings.connect_timeout, sock_read=settings.request_timeout
    )
    return aiohttp.ClientSession(
        base_url=base_url,
        timeout=timeout,
        raise_for_status=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trace_configs=list(trace_configs),
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=256, ttl_dns_cache=300),
        auto_decompress=True,
    )


@asynccontextmanager
async def open_flow_sessions(
    settings: FlowSettings, trace_configs: Sequence[aiohttp.TraceConfig] = ()
) -> AsyncIterator[FlowSessions]:
    """Open the three sessions; close them all on exit."""
    labs = _session(settings, _origin(settings.labs_base_url), trace_configs)
    api = _session(settings, _origin(settings.api_base_url), trace_configs)
    downloads = _session(settings, None, trace_configs)
    try:
        yield FlowSessions(labs=labs, api=api, downloads=downloads)
    finally:
        for session in (labs, api, downloads):
            await session.close()


def open_client_session(
    *, timeout: float, trace_configs: Sequence[aiohttp.TraceConfig] = ()
) -> aiohttp.ClientSession:
    """A plain session for a third-party service (the captcha solver): explicit timeout, no cookies."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10.0)),
        raise_for_status=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trace_configs=list(trace_configs),
    )
