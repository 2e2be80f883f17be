"""The composition root: ``create_app(settings)`` builds the whole gateway, and only here.

Resources are opened and closed in pairs through ``cleanup_ctx`` (store, then the HTTP sessions
and the services built on them, with their background loops), in dependency order; nothing runs at
import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import structlog
from aiohttp import ClientSession, web

from gateway import keys
from gateway.admin.routes import add_admin_routes
from gateway.api.routes import add_routes, is_licence_exempt
from gateway.api.task_events import task_event_renderer
from gateway.captcha.anticaptcha import AntiCaptchaProvider
from gateway.captcha.disabled import DisabledCaptcha
from gateway.captcha.health import TrackedTokens
from gateway.captcha.prefetch import PrefetchingTokens, prefetch_settings
from gateway.catalog import Catalog
from gateway.config import Settings, parse_listen
from gateway.console.routes import add_console_routes, console_guard
from gateway.domain import AccountKind, Kind
from gateway.gemini.dialect import GoogleErrors, is_google_request
from gateway.gemini.routes import add_gemini_routes
from gateway.licensing import LicenceRegistry
from gateway.media.fetch import RemoteImageFetcher, create_fetch_session
from gateway.media.signing import UrlSigner
from gateway.media.storage import DiskMediaStore
from gateway.middleware.admin import admin_middleware, is_admin_path, is_console_path
from gateway.middleware.cors import CorsPolicy, cors_middlewares, install_cors_headers
from gateway.middleware.errors import error_middleware
from gateway.middleware.licence import licence_middleware
from gateway.middleware.metrics import metrics_middleware
from gateway.middleware.ratelimit import install_ratelimit_headers
from gateway.middleware.request_context import install_response_headers, request_context_middleware
from gateway.obs.metrics import GatewayMetrics, metrics_handler, upstream_trace_config
from gateway.openapi.serve import add_openapi_route
from gateway.pool.collector import PoolCollector
from gateway.pool.policy import Rules
from gateway.pool.pool import AccountPool
from gateway.service.account_refresh import AccountRefresher
from gateway.service.account_registry import AccountRegistry, RegistryHooks
from gateway.service.account_state import AccountStateKeeper
from gateway.service.audit import ACTOR_ADMIN_API, AuditTrail
from gateway.service.availability import ModelAvailability
from gateway.service.chat import ChatRequests
from gateway.service.doctor import Doctor
from gateway.service.generation import ImageService
from gateway.service.image_tasks import ImageTasks
from gateway.service.images import ImageRequests
from gateway.service.inputs import InputResolver
from gateway.service.leftovers import Leftovers
from gateway.service.licence_book import LicenceBook
from gateway.service.poller import VideoPoller
from gateway.service.quota.quota import Quota
from gateway.service.quota.rebuild import rebuild
from gateway.service.retention import MediaCleaner, RetentionPolicy
from gateway.service.task_metrics import TaskCollector
from gateway.service.tasks import TaskEngine
from gateway.service.video_followups import VideoFollowUps
from gateway.service.video_runner import VideoRunner
from gateway.service.videos import VideoRequests
from gateway.service.webhook_delivery import WebhookCollector
from gateway.service.webhooks import open_webhooks
from gateway.service.worker_enrolment import WorkerEnrolments
from gateway.store.base import Store
from gateway.store.factory import store_for
from gateway.upstream.flow import evidence
from gateway.upstream.flow.batch_caller import BatchCaller
from gateway.upstream.flow.batch_transport import BatchTransport
from gateway.upstream.flow.canary import ShapeCanary
from gateway.upstream.flow.rest import RestTransport
from gateway.upstream.flow.transport import FlowTransport, TokenSource
from gateway.upstream.flow.workers import AccountListener, AnnouncedAccount, WorkerHub
from gateway.upstream.http import open_client_session, open_flow_sessions

SIGNING_KEY = "media_signing_key"
log = structlog.get_logger("gateway.app")


def create_app(settings: Settings) -> web.Application:
    """Build the gateway application for ``settings``."""
    metrics = GatewayMetrics(max_licence_labels=settings.metrics.max_licence_labels)
    licences = LicenceRegistry()  # filled from the store at start (_licences_ctx)
    cors = CorsPolicy(settings.server.cors_origins)
    guard = console_guard(settings)  # console sessions and the wrong-admin-key throttle
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[
            request_context_middleware(),
            *cors_middlewares(cors),  # preflights answered before the licence check
            metrics_middleware(metrics),
            error_middleware(dialects=(GoogleErrors(),)),  # Google's paths answer in Google's shape
            admin_middleware(settings.admin.key_sha256, admin_port=_admin_port(settings), guard=guard),
            licence_middleware(licences, exempt=_licence_exempt, key_in_query=is_google_request),
        ],
    )
    install_response_headers(app)
    install_ratelimit_headers(app)
    install_cors_headers(app, cors)
    app[keys.SETTINGS] = settings
    app[keys.METRICS] = metrics
    app[keys.LICENCES] = licences
    app[keys.CATALOG] = Catalog.load(settings.catalog_path, names=settings.models)
    app[keys.STORE] = store_for(settings.store)
    app[keys.POOL] = AccountPool(
        rules=Rules(
            base_cooldown=settings.pool.base_cooldown,
            max_cooldown=settings.pool.max_cooldown,
            transient_cooldown=settings.pool.transient_cooldown,
            max_transient_cooldown=settings.pool.max_transient_cooldown,
            auth_failures_to_relogin=settings.pool.auth_failures_to_relogin,
            refusal_ttl=settings.pool.refusal_ttl,
            flagged_pause=settings.pool.flagged_pause,
        ),
        wait_timeout=settings.pool.wait_timeout,
        max_waiters=settings.pool.max_waiters,
    )
    metrics.register_collector(PoolCollector(app[keys.POOL]))
    app[keys.AVAILABILITY] = ModelAvailability(app[keys.CATALOG], app[keys.POOL])
    app[keys.LEFTOVERS] = Leftovers()
    app[keys.WORKERS] = WorkerHub(on_account=_announce_to(app))
    app[keys.CANARY] = ShapeCanary(
        evidence.load(), on_mismatch=lambda rpc: metrics.shape_mismatches.labels(rpc).inc()
    )
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_licences_ctx)
    app.cleanup_ctx.append(_services_ctx)
    add_routes(app, base_path=settings.server.base_path)
    add_admin_routes(app)
    add_console_routes(app, guard)  # with the admin API only
    add_gemini_routes(app)
    app.router.add_get("/metrics", metrics_handler(metrics))
    add_openapi_route(app)  # documents every route above (built at its first request)
    return app


def _admin_port(settings: Settings) -> int:
    """The admin listener's port, or 0 when the admin API shares the public listener."""
    return parse_listen(settings.admin.listen)[1] if settings.admin.listen else 0


def _licence_exempt(request: web.Request) -> bool:
    """The public routes' exemptions, plus the admin API and the console (they have their own key)."""
    return is_admin_path(request.path) or is_console_path(request.path) or is_licence_exempt(request)


def _announce_to(app: web.Application) -> AccountListener:
    """The hub's listener: the account registry, which exists once the services have started."""

    async def announce(account: AnnouncedAccount, *, reachable: bool, reason: str) -> None:
        await app[keys.ACCOUNTS].announce(account, reachable=reachable, reason=reason)

    return announce


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = app[keys.STORE]
    await store.open()
    lease = None
    if app[keys.SETTINGS].store.backend == "redis" and app[keys.SETTINGS].store.exclusive:
        from gateway.store.redis_store import RedisStore  # noqa: PLC0415 (not loaded for SQLite)

        assert isinstance(store, RedisStore)  # store_for made it from the same settings
        lease = store.replica_lease()
    try:
        if lease is not None:
            await lease.acquire()
        yield
    finally:
        if lease is not None:
            await lease.release()
        await store.close()


async def _licences_ctx(app: web.Application) -> AsyncIterator[None]:
    """Licences: the config file's written to the store (the file wins), the live registry loaded,
    then kept equal to the store (changes by the CLI or another replica) until shutdown."""
    settings, store, registry = app[keys.SETTINGS], app[keys.STORE], app[keys.LICENCES]
    app[keys.AUDIT] = AuditTrail(store, actor=ACTOR_ADMIN_API)
    book = LicenceBook(
        store,
        audit=app[keys.AUDIT],
        grace=settings.licensing.rotation_grace,
        on_change=functools.partial(registry.reload, store),  # a change here is live at once
    )
    await book.sync_config(settings.licences)
    await registry.reload(store)
    app[keys.LICENCE_BOOK] = book
    sync = asyncio.create_task(registry.run(store, settings.licensing.sync_interval))
    try:
        yield
    finally:
        await _cancel(sync)


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
        # The refresher reads through every transport; the worker one joins below (it needs the
        # registry, which needs the refresher).
        transports: dict[AccountKind, FlowTransport] = {AccountKind.REST: rest}
        refresher = AccountRefresher(
            app[keys.POOL], transports, ttl=settings.flow.credits_ttl, on_unread=metrics.catalogue_unread.inc
        )
        registry = AccountRegistry(
            store=store,
            pool=app[keys.POOL],
            workers=settings.workers,
            hooks=RegistryHooks(
                forget_credentials=rest.forget, verify_soon=refresher.wake, audit=app[keys.AUDIT]
            ),
        )
        app[keys.ACCOUNTS] = registry
        app[keys.ENROLMENTS] = WorkerEnrolments(store, audit=app[keys.AUDIT])
        await registry.load(settings.accounts)
        caller = BatchCaller(app[keys.WORKERS], settings.batch, canary=app[keys.CANARY])
        batch = BatchTransport(
            app[keys.WORKERS],
            settings.batch,
            downloads=rest,
            tier_of=registry.tier_of,
            caller=caller,
        )
        transports[AccountKind.WORKER] = batch
        app[keys.DOCTOR] = Doctor(
            pool=app[keys.POOL],
            hub=app[keys.WORKERS],
            batch=batch,
            catalog=app[keys.CATALOG],
            canary=app[keys.CANARY],
        )
        resolver = _media_services(app, transports, fetch_session, await _signing_key(settings, store))
        await _task_services(app, stack, transports, resolver)
        keeper = AccountStateKeeper(app[keys.POOL], store)
        stack.push_async_callback(keeper.flush)  # runs after the loops below are cancelled
        stack.push_async_callback(app[keys.LEFTOVERS].close)  # departed clients' work, before the rest
        _say_what_is_missing(settings, app)
        cleaner = MediaCleaner(
            media=app[keys.MEDIA],
            store=store,
            signer=app[keys.SIGNER],
            policy=RetentionPolicy.from_settings(settings.media),
        )
        for loop in (
            refresher.run(interval=max(5.0, settings.flow.credits_ttl / 10)),
            registry.run(interval=settings.pool.sync_interval),
            keeper.run(),
            cleaner.run(interval=settings.media.sweep_interval),
        ):
            stack.push_async_callback(_cancel, asyncio.create_task(loop))
        yield


async def _signing_key(settings: Settings, store: Store) -> bytes:
    """The operator's signing key, else one the gateway made once and keeps in the store (so that
    signed URLs survive a restart)."""
    if settings.media.signing_key:
        return settings.media.signing_key.encode()
    kept = await store.get_secret(SIGNING_KEY)
    if kept is None:  # kept if absent, then read back: replicas starting at once agree on one key
        kept = await store.set_secret_if_absent(SIGNING_KEY, secrets.token_urlsafe(32))
    return kept.encode()


def _media_services(
    app: web.Application,
    transports: dict[AccountKind, FlowTransport],
    fetch_session: ClientSession,
    signing_key: bytes,
) -> InputResolver:
    """Media storage, signed URLs, input resolution and the image service."""
    settings, store = app[keys.SETTINGS], app[keys.STORE]
    media = DiskMediaStore(Path(settings.media.root))
    app[keys.MEDIA] = media
    app[keys.SIGNER] = UrlSigner(signing_key, ttl=settings.media.url_ttl_seconds)
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
        transports=transports,
        media=media,
        store=store,
        settings=settings.flow,
        metrics=app[keys.METRICS],
    )
    app[keys.IMAGES] = ImageRequests(catalog=app[keys.CATALOG], resolver=resolver, generator=generator)
    return resolver


async def _task_services(
    app: web.Application,
    stack: AsyncExitStack,
    transports: dict[AccountKind, FlowTransport],
    resolver: InputResolver,
) -> None:
    """The task engine (videos, asynchronous images), its poller, and the orders that feed it;
    unfinished tasks resume here. At shutdown the engine stops before the poller it waits on."""
    settings = app[keys.SETTINGS]
    poller = VideoPoller(transports, settings.tasks)
    videos = VideoRunner(
        catalog=app[keys.CATALOG],
        pool=app[keys.POOL],
        transports=transports,
        poller=poller,
        media=app[keys.MEDIA],
        store=app[keys.STORE],
        settings=settings.tasks,
        flow=settings.flow,
        metrics=app[keys.METRICS],
    )
    image_tasks = ImageTasks(images=app[keys.IMAGES], resolver=resolver, pool=app[keys.POOL])
    engine = TaskEngine(
        store=app[keys.STORE],
        media=app[keys.MEDIA],
        runners={Kind.VIDEO: videos, Kind.IMAGE: image_tasks},
        write_delay=settings.tasks.write_delay,
    )
    app[keys.TASKS], app[keys.IMAGE_TASKS] = engine, image_tasks
    app[keys.VIDEOS] = VideoRequests(
        catalog=app[keys.CATALOG], resolver=resolver, engine=engine, pool=app[keys.POOL]
    )
    app[keys.VIDEO_FOLLOWUPS] = VideoFollowUps(catalog=app[keys.CATALOG], engine=engine, pool=app[keys.POOL])
    app[keys.CHAT] = ChatRequests(
        catalog=app[keys.CATALOG], videos=app[keys.VIDEOS], images=image_tasks, engine=engine
    )
    app[keys.METRICS].register_collector(TaskCollector(engine, poller))
    stack.push_async_callback(_cancel, asyncio.create_task(poller.run()))
    await _webhooks(app, stack, engine)  # entered before the engine's close: it stops after it
    await _quota(app, stack, engine)  # the same, and its counters rebuilt before tasks resume
    stack.push_async_callback(engine.close)
    await engine.start()


async def _quota(app: web.Application, stack: AsyncExitStack, engine: TaskEngine) -> None:
    """Licence limits and usage: counters rebuilt from the store, settled as tasks end, the usage
    written behind flushed after the engine stops."""
    pool = app[keys.POOL]

    def transport_of(account_id: str) -> str:
        account = pool.get(account_id)
        return account.kind.value if account is not None else ""

    quota = Quota(store=app[keys.STORE], metrics=app[keys.METRICS], transport_of=transport_of)
    await rebuild(quota, app[keys.STORE], time.time())
    app[keys.QUOTA] = quota
    engine.on_finished(quota.task_finished)
    engine.on_deleted(quota.task_deleted)
    stack.push_async_callback(quota.close)


async def _webhooks(app: web.Application, stack: AsyncExitStack, engine: TaskEngine) -> None:
    """Webhooks, told by the engine when a task ends; they stop after it, so the deliveries of the
    last tasks to end are written before the loop stops."""
    store = app[keys.STORE]
    webhooks = await stack.enter_async_context(
        open_webhooks(
            app[keys.SETTINGS], store=store, render=task_event_renderer(app), licence_of=store.get_licence
        )
    )
    app[keys.WEBHOOKS] = webhooks
    engine.on_finished(webhooks.on_finished)
    app[keys.METRICS].register_collector(WebhookCollector(webhooks.dispatcher))


def _say_what_is_missing(settings: Settings, app: web.Application) -> None:
    """One line at start: where the gateway listens, and what an operator has not set up yet."""
    missing = []
    if not len(app[keys.LICENCES]):
        missing.append("no licences (python -m gateway licences create --name ...)")
    if not app[keys.POOL].accounts:
        missing.append("no Flow accounts ([[accounts]], the admin API or the accounts CLI)")
    if settings.captcha.provider == "anticaptcha" and not settings.captcha.client_key:
        missing.append("no captcha solver key ([captcha] client_key) for REST accounts")
    if not settings.workers.secret:
        missing.append("no worker secret ([workers] secret): flow.google.com accounts cannot connect")
    if not settings.admin.key_sha256:
        missing.append("no admin key (python -m gateway admin key)")
    log.info(
        "gateway_started",
        listen=f"http://{settings.server.host}:{settings.server.port}{settings.server.base_path}/v1",
        accounts=len(app[keys.POOL].accounts),
        licences=len(app[keys.LICENCES]),
        missing=missing,
    )


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _captcha(stack: AsyncExitStack, settings: Settings, app: web.Application) -> TokenSource:
    """The solver, with prefetching when configured, wrapped so ``/admin/health`` can tell how it goes."""
    if settings.captcha.provider == "none":
        app[keys.SOLVER] = TrackedTokens(DisabledCaptcha())
        return app[keys.SOLVER]
    session = open_client_session(timeout=settings.captcha.timeout + 10)
    stack.push_async_callback(session.close)
    solver = AntiCaptchaProvider(session, settings.captcha, metrics=app[keys.METRICS])
    if not settings.captcha.prefetch:
        app[keys.SOLVER] = TrackedTokens(solver)
        return app[keys.SOLVER]
    prefetching = PrefetchingTokens(solver, prefetch_settings(settings.captcha), metrics=app[keys.METRICS])
    stack.push_async_callback(prefetching.close)  # before the session closes (last in, first out)
    app[keys.SOLVER] = TrackedTokens(prefetching, ready=prefetching.ready)
    return app[keys.SOLVER]


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
