"""The composition root: ``create_app(settings)`` builds the whole gateway, and only here.

Resources are opened and closed in pairs through ``cleanup_ctx`` (store, then the HTTP sessions
and the services built on them, with their background loops), in dependency order; nothing runs at
import time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import structlog
from aiohttp import web

from gateway import keys
from gateway.admin.routes import add_admin_routes
from gateway.api.routes import add_routes, is_licence_exempt
from gateway.app_services import (
    account_pool,
    account_state_keeper,
    cancel_task,
    captcha_source,
    endpoint_of,
    media_services,
    relay_ctx,
    replica_relay,
    say_what_is_missing,
    signing_key,
    task_services,
)
from gateway.catalog import Catalog
from gateway.config import Settings, parse_listen
from gateway.console.routes import add_console_routes, console_guard
from gateway.domain import AccountKind
from gateway.gemini.dialect import GoogleErrors, is_google_request
from gateway.gemini.routes import add_gemini_routes
from gateway.licensing import LicenceRegistry
from gateway.media.backends import open_media_store
from gateway.media.fetch import create_fetch_session
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
from gateway.service.account_refresh import AccountRefresher
from gateway.service.account_registry import AccountRegistry, RegistryHooks
from gateway.service.audit import ACTOR_ADMIN_API, AuditTrail
from gateway.service.availability import ModelAvailability
from gateway.service.doctor import Doctor
from gateway.service.leftovers import Leftovers
from gateway.service.licence_book import LicenceBook
from gateway.service.retention import MediaCleaner, RetentionPolicy
from gateway.service.signed_urls import SignedUrlWriter
from gateway.service.worker_enrolment import WorkerEnrolments
from gateway.store.factory import store_for
from gateway.upstream.flow import evidence
from gateway.upstream.flow.batch_caller import BatchCaller
from gateway.upstream.flow.batch_transport import BatchTransport
from gateway.upstream.flow.canary import ShapeCanary
from gateway.upstream.flow.rest import RestTransport
from gateway.upstream.flow.transport import FlowTransport
from gateway.upstream.flow.workers import AccountListener, AnnouncedAccount, WorkerHub
from gateway.upstream.http import open_flow_sessions

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
    app[keys.POOL] = account_pool(settings, app[keys.STORE])  # on the store's slot ledger
    metrics.register_collector(PoolCollector(app[keys.POOL]))
    app[keys.AVAILABILITY] = ModelAvailability(app[keys.CATALOG], app[keys.POOL])
    app[keys.LEFTOVERS] = Leftovers()
    relay = replica_relay(settings, app[keys.STORE], _announce_to(app))
    app[keys.WORKERS] = WorkerHub(on_account=_announce_to(app), relay=relay)
    app[keys.CANARY] = ShapeCanary(
        evidence.load(), on_mismatch=lambda rpc: metrics.shape_mismatches.labels(rpc).inc()
    )
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_licences_ctx)
    app.cleanup_ctx.append(_services_ctx)
    if relay is not None:  # several replicas: workers connected to the others
        app.cleanup_ctx.append(relay_ctx(relay, app[keys.WORKERS]))
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
    try:
        yield
    finally:
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
        await cancel_task(sync)


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, metrics, store = app[keys.SETTINGS], app[keys.METRICS], app[keys.STORE]
    async with AsyncExitStack() as stack:
        trace = [upstream_trace_config(metrics, endpoint_of)]
        sessions = await stack.enter_async_context(open_flow_sessions(settings.flow, trace))
        fetch_session = await stack.enter_async_context(
            create_fetch_session(allow_private=settings.media.allow_private_urls)
        )
        captcha = await captcha_source(stack, settings, app)
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
        app[keys.MEDIA] = await stack.enter_async_context(open_media_store(settings.media))
        resolver = media_services(app, transports, fetch_session, await signing_key(settings, store))
        await task_services(app, stack, transports, resolver)
        keeper = account_state_keeper(settings, app)
        stack.push_async_callback(keeper.flush)  # runs after the loops below are cancelled
        stack.push_async_callback(app[keys.LEFTOVERS].close)  # departed clients' work, before the rest
        signed_urls = SignedUrlWriter(app[keys.SIGNER], store)  # every replica's sweep spares them
        stack.push_async_callback(signed_urls.close)  # what is left, once its loop is cancelled
        say_what_is_missing(settings, app)
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
            keeper.listen(),  # other replicas' account states (returns at once on one machine)
            app[keys.POOL].ledger.run(),  # renews this replica's slots in Redis (the same)
            cleaner.run(interval=settings.media.sweep_interval),
            signed_urls.run(),
        ):
            stack.push_async_callback(cancel_task, asyncio.create_task(loop))
        yield
