"""The services the app is made of, built at start: media (signing, storage, retention), tasks
(engine, runners, poller), usage (quota), webhooks, the captcha solver. ``gateway.app`` composes
them into the application and its start/stop contexts; this module builds the parts."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import structlog
from aiohttp import ClientSession, web

from gateway import keys
from gateway.api.task_events import task_event_renderer
from gateway.captcha.anticaptcha import AntiCaptchaProvider
from gateway.captcha.disabled import DisabledCaptcha
from gateway.captcha.health import TrackedTokens
from gateway.captcha.prefetch import PrefetchingTokens, prefetch_settings
from gateway.config import Settings
from gateway.domain import AccountKind, Kind
from gateway.media.fetch import RemoteImageFetcher
from gateway.media.signing import UrlSigner
from gateway.pool.policy import Rules
from gateway.pool.pool import AccountPool
from gateway.pool.table import AccountTable
from gateway.service.account_state import AccountStateKeeper
from gateway.service.chat import ChatRequests
from gateway.service.generation import ImageService
from gateway.service.image_tasks import ImageTasks
from gateway.service.images import ImageRequests
from gateway.service.inputs import InputResolver
from gateway.service.poller import VideoPoller
from gateway.service.quota.book import Book, LocalBook
from gateway.service.quota.quota import Quota
from gateway.service.quota.rebuild import rebuild
from gateway.service.quota.shared import SharedBook
from gateway.service.task_metrics import TaskCollector
from gateway.service.tasks import TaskEngine
from gateway.service.video_followups import VideoFollowUps
from gateway.service.video_runner import VideoRunner
from gateway.service.videos import VideoRequests
from gateway.service.webhook_delivery import WebhookCollector
from gateway.service.webhooks import open_webhooks
from gateway.store.base import Store
from gateway.store.task_claims import LocalTaskClaims, TaskClaims
from gateway.upstream.flow.transport import FlowTransport, TokenSource
from gateway.upstream.flow.worker_replicas import ReplicaRelay
from gateway.upstream.flow.workers import AccountListener, WorkerHub
from gateway.upstream.http import open_client_session

if TYPE_CHECKING:  # imported when the store is Redis only (see _redis_store)
    from gateway.store.redis_store import RedisStore

SIGNING_KEY = "media_signing_key"
SHARED_STATE_INTERVAL = 0.2  # seconds between writes of changed account states with several replicas
log = structlog.get_logger("gateway.app")


async def signing_key(settings: Settings, store: Store) -> bytes:
    """The operator's signing key, else one the gateway made once and keeps in the store (so that
    signed URLs survive a restart)."""
    if settings.media.signing_key:
        return settings.media.signing_key.encode()
    kept = await store.get_secret(SIGNING_KEY)
    if kept is None:  # kept if absent, then read back: replicas starting at once agree on one key
        kept = await store.set_secret_if_absent(SIGNING_KEY, secrets.token_urlsafe(32))
    return kept.encode()


def media_services(
    app: web.Application,
    transports: dict[AccountKind, FlowTransport],
    fetch_session: ClientSession,
    signing_key: bytes,
) -> InputResolver:
    """Signed URLs, input resolution and the image service, over the media store already opened."""
    settings, store = app[keys.SETTINGS], app[keys.STORE]
    media = app[keys.MEDIA]  # opened by the services' context: the disk or an S3 bucket
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


async def task_services(
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
        claims=task_claims(settings, app[keys.STORE]),
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
    stack.push_async_callback(cancel_task, asyncio.create_task(poller.run()))
    await webhook_services(app, stack, engine)  # entered before the engine's close: it stops after it
    await quota_services(app, stack, engine)  # the same, and its counters rebuilt before tasks resume
    stack.push_async_callback(engine.close)
    await engine.start()


def task_claims(settings: Settings, store: Store) -> TaskClaims:
    """Which process runs which task: this one every task (one machine), or claims shared on Redis."""
    if settings.store.backend != "redis":
        return LocalTaskClaims(store)
    from gateway.store.redis_store import RedisStore  # noqa: PLC0415 (not loaded for SQLite)

    assert isinstance(store, RedisStore)  # store_for made it from the same settings
    return store.task_claims(ttl=settings.tasks.claim_ttl)


async def quota_services(app: web.Application, stack: AsyncExitStack, engine: TaskEngine) -> None:
    """Licence limits and usage: counters rebuilt from the store, settled as tasks end, the usage
    written behind flushed after the engine stops."""
    pool = app[keys.POOL]

    def transport_of(account_id: str) -> str:
        account = pool.table.get(account_id)
        return account.kind.value if account is not None else ""

    book = quota_book(app[keys.SETTINGS], app[keys.STORE])
    quota = Quota(store=app[keys.STORE], metrics=app[keys.METRICS], transport_of=transport_of, book=book)
    await rebuild(quota, app[keys.STORE], time.time())
    app[keys.QUOTA] = quota
    engine.on_finished(quota.task_finished)
    engine.on_deleted(quota.task_deleted)
    quota.start()
    stack.push_async_callback(quota.close)


def quota_book(settings: Settings, store: Store) -> Book:
    """The licences' counters: this process's, or (Redis) shared by every replica."""
    if settings.store.backend != "redis":
        return LocalBook()
    from gateway.store.redis_store import RedisStore  # noqa: PLC0415 (not loaded for SQLite)

    assert isinstance(store, RedisStore)  # store_for made it from the same settings
    return SharedBook(store.quota_counters(), hold_ttl=settings.licensing.hold_seconds)


async def webhook_services(app: web.Application, stack: AsyncExitStack, engine: TaskEngine) -> None:
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


def account_pool(settings: Settings, store: Store) -> AccountPool:
    """The account pool, its slots counted on the store's ledger: shared by every replica with the
    Redis store, this process's own otherwise (no I/O on the hot path)."""
    table = AccountTable(
        rules=Rules(
            base_cooldown=settings.pool.base_cooldown,
            max_cooldown=settings.pool.max_cooldown,
            transient_cooldown=settings.pool.transient_cooldown,
            max_transient_cooldown=settings.pool.max_transient_cooldown,
            auth_failures_to_relogin=settings.pool.auth_failures_to_relogin,
            refusal_ttl=settings.pool.refusal_ttl,
            flagged_pause=settings.pool.flagged_pause,
        )
    )
    redis = _redis_store(settings, store)
    return AccountPool(
        table,
        wait_timeout=settings.pool.wait_timeout,
        max_waiters=settings.pool.max_waiters,
        ledger=redis.slot_ledger() if redis is not None else None,
    )


def account_state_keeper(settings: Settings, app: web.Application) -> AccountStateKeeper:
    """Account states written behind to the store; with Redis, written often and told to the other
    replicas at once (cooldowns and verdicts are honoured by all)."""
    store, pool = app[keys.STORE], app[keys.POOL]
    redis = _redis_store(settings, store)
    if redis is None:
        return AccountStateKeeper(pool, store)
    return AccountStateKeeper(pool, store, interval=SHARED_STATE_INTERVAL, feed=redis.health_feed())


def _redis_store(settings: Settings, store: Store) -> RedisStore | None:
    if settings.store.backend != "redis":
        return None
    # Imported here: redis-py costs a one-machine (SQLite) gateway about 7 MB of RSS for nothing.
    from gateway.store.redis_store import RedisStore  # noqa: PLC0415

    assert isinstance(store, RedisStore)  # store_for made it from the same settings
    return store


def say_what_is_missing(settings: Settings, app: web.Application) -> None:
    """One line at start: where the gateway listens, and what an operator has not set up yet."""
    missing = []
    if not len(app[keys.LICENCES]):
        missing.append("no licences (python -m gateway licences create --name ...)")
    if not app[keys.POOL].table.accounts:
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
        accounts=len(app[keys.POOL].table.accounts),
        licences=len(app[keys.LICENCES]),
        missing=missing,
    )


def replica_relay(settings: Settings, store: Store, on_account: AccountListener) -> ReplicaRelay | None:
    """Several replicas on Redis: the relay to browser workers connected to the others (None: one
    gateway, whose hub serves its own workers only)."""
    if settings.store.backend != "redis":
        return None
    from gateway.store.redis_store import RedisStore  # noqa: PLC0415 (redis-py only when on Redis)

    assert isinstance(store, RedisStore)  # store_for made it from the same settings
    # The host name says which pod or machine a worker is on; the suffix tells a restart apart.
    replica = f"{socket.gethostname()}-{secrets.token_hex(4)}"
    return ReplicaRelay(store.worker_bus(replica), on_account=on_account)


def relay_ctx(relay: ReplicaRelay, hub: WorkerHub) -> Callable[[web.Application], AsyncIterator[None]]:
    """The relay's loops, from after the services (its accounts reach the registry) until before them."""

    async def ctx(_: web.Application) -> AsyncIterator[None]:
        await relay.start(hub)
        try:
            yield
        finally:
            await relay.withdraw()  # first: callers elsewhere fail at once rather than at expiry
            await relay.stop()

    return ctx


async def cancel_task(task: asyncio.Task[None]) -> None:
    """Cancel a background loop and wait for it to end (at shutdown)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def captcha_source(stack: AsyncExitStack, settings: Settings, app: web.Application) -> TokenSource:
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


def endpoint_of(url: object) -> str:
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
