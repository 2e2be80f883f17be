"""The composition root: ``create_app(settings)`` builds the whole gateway, and only here.

Resources are opened and closed in pairs through ``cleanup_ctx`` (store, then the HTTP sessions
and the services built on them), in dependency order; nothing runs at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

from aiohttp import web

from gateway import keys
from gateway.api.routes import add_routes, is_licence_exempt
from gateway.captcha.anticaptcha import AntiCaptchaProvider
from gateway.captcha.disabled import DisabledCaptcha
from gateway.catalog import Catalog
from gateway.config import Settings
from gateway.domain import AccountKind, Capability, Secret
from gateway.licensing import LicenceRegistry
from gateway.media.fetch import RemoteImageFetcher, create_fetch_session
from gateway.media.signing import UrlSigner, signing_key_from
from gateway.media.storage import DiskMediaStore
from gateway.middleware.errors import error_middleware
from gateway.middleware.licence import licence_middleware
from gateway.middleware.metrics import metrics_middleware
from gateway.middleware.request_context import install_response_headers, request_context_middleware
from gateway.obs.metrics import GatewayMetrics, metrics_handler, upstream_trace_config
from gateway.pool.account import Account, account_id_for
from gateway.pool.collector import PoolCollector
from gateway.pool.policy import Rules
from gateway.pool.pool import AccountPool
from gateway.service.account_refresh import AccountRefresher
from gateway.service.account_state import AccountStateKeeper
from gateway.service.generation import ImageService
from gateway.service.images import ImageRequests
from gateway.service.inputs import InputResolver
from gateway.service.worker_accounts import WorkerAccounts
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import open_sqlite_store
from gateway.upstream.flow.batch_transport import BatchTransport
from gateway.upstream.flow.rest import RestTransport
from gateway.upstream.flow.transport import TokenSource
from gateway.upstream.flow.workers import WorkerHub
from gateway.upstream.http import open_client_session, open_flow_sessions


def create_app(settings: Settings) -> web.Application:
    """Build the gateway application for ``settings``."""
    metrics = GatewayMetrics()
    licences = LicenceRegistry(settings.licences)
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[
            request_context_middleware(),
            metrics_middleware(metrics),
            error_middleware(),
            licence_middleware(licences, exempt=is_licence_exempt),
        ],
    )
    install_response_headers(app)
    app[keys.SETTINGS] = settings
    app[keys.METRICS] = metrics
    app[keys.CATALOG] = Catalog.load(settings.catalog_path)
    app[keys.POOL] = AccountPool(
        accounts_from(settings),
        rules=Rules(
            base_cooldown=settings.pool.base_cooldown,
            max_cooldown=settings.pool.max_cooldown,
            failures_to_disable=settings.pool.failures_to_disable,
            auth_failures_to_relogin=settings.pool.auth_failures_to_relogin,
        ),
        wait_timeout=settings.pool.wait_timeout,
        max_waiters=settings.pool.max_waiters,
    )
    metrics.register_collector(PoolCollector(app[keys.POOL]))
    worker_accounts = WorkerAccounts(app[keys.POOL], settings.workers)
    app[keys.WORKER_ACCOUNTS] = worker_accounts
    app[keys.WORKERS] = WorkerHub(on_account=worker_accounts)
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_account_state_ctx)
    app.cleanup_ctx.append(_services_ctx)
    add_routes(app, base_path=settings.server.base_path)
    app.router.add_get("/metrics", metrics_handler(metrics))
    return app


def accounts_from(settings: Settings) -> list[Account]:
    """Pool accounts from the config file's ``[[accounts]]``."""
    accounts = []
    for i, entry in enumerate(settings.accounts):
        accounts.append(
            Account(
                id=account_id_for(entry.session_token),
                label=entry.label or f"account-{i + 1}",
                session_token=Secret(entry.session_token),
                kind=AccountKind.REST,
                proxy=entry.proxy or None,
                groups=frozenset(g.lower() for g in entry.groups),
                limits={Capability.IMAGE: entry.image_concurrency, Capability.VIDEO: entry.video_concurrency},
            )
        )
    return accounts


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS].store
    if settings.backend == "memory":
        app[keys.STORE] = MemoryStore()
        yield
        return
    async with open_sqlite_store(settings.path) as store:
        app[keys.STORE] = store
        yield


async def _account_state_ctx(app: web.Application) -> AsyncIterator[None]:
    keeper = AccountStateKeeper(app[keys.POOL], app[keys.STORE])
    await keeper.restore()
    task = asyncio.create_task(keeper.run())
    try:
        yield
    finally:
        await _cancel(task)
        await keeper.flush()


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, metrics, store = app[keys.SETTINGS], app[keys.METRICS], app[keys.STORE]
    async with AsyncExitStack() as stack:
        trace = [upstream_trace_config(metrics, _endpoint_of)]
        sessions = await stack.enter_async_context(open_flow_sessions(settings.flow, trace))
        fetch_session = await stack.enter_async_context(
            create_fetch_session(allow_private=settings.media.allow_private_urls)
        )
        captcha = await _captcha(stack, settings, app)
        rest = RestTransport(sessions, settings.flow, captcha=captcha, projects=store)
        batch = BatchTransport(
            app[keys.WORKERS],
            settings.batch,
            download=rest.download,
            tier_of=app[keys.WORKER_ACCOUNTS].tier_of,
        )
        media = DiskMediaStore(Path(settings.media.root))
        app[keys.MEDIA] = media
        app[keys.SIGNER] = UrlSigner(
            signing_key_from(settings.media.signing_key), ttl=settings.media.url_ttl_seconds
        )
        fetcher = RemoteImageFetcher(
            fetch_session,
            max_bytes=settings.media.max_input_bytes,
            timeout=settings.media.fetch_timeout,
            max_redirects=settings.media.max_redirects,
            allow_private=settings.media.allow_private_urls,
        )
        resolver = InputResolver(
            fetcher=fetcher, media=media, store=store, max_bytes=settings.media.max_input_bytes
        )
        generator = ImageService(
            pool=app[keys.POOL],
            transports={AccountKind.REST: rest, AccountKind.WORKER: batch},
            media=media,
            store=store,
            settings=settings.flow,
            metrics=metrics,
        )
        app[keys.IMAGES] = ImageRequests(catalog=app[keys.CATALOG], resolver=resolver, generator=generator)
        refresher = AccountRefresher(app[keys.POOL], {AccountKind.REST: rest}, ttl=settings.flow.credits_ttl)
        refreshing = asyncio.create_task(refresher.run(interval=max(5.0, settings.flow.credits_ttl / 10)))
        stack.push_async_callback(_cancel, refreshing)
        yield


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _captcha(stack: AsyncExitStack, settings: Settings, app: web.Application) -> TokenSource:
    if settings.captcha.provider == "none":
        return DisabledCaptcha()
    session = open_client_session(timeout=settings.captcha.timeout + 10)
    stack.push_async_callback(session.close)
    return AntiCaptchaProvider(session, settings.captcha, metrics=app[keys.METRICS])


def _endpoint_of(url: object) -> str:
    """A low-cardinality endpoint label for an upstream URL (never ids or query strings)."""
    path = str(getattr(url, "path", ""))
    if ":" in path.rsplit("/", 1)[-1]:
        return path.rsplit(":", 1)[-1]
    for marker in (
        "auth/session",
        "createProject",
        "credits",
        "uploadImage",
        "upsampleImage",
        "createTask",
        "getTaskResult",
    ):
        if marker in path:
            return marker
    return "media" if "/image/" in path or "/video/" in path else "other"
