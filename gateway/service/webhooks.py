"""Webhooks: when a task a client may be told about ends, a signed POST is owed to its URL.

A task may be told about when its creator put ``webhook_url`` in its order (``POST /v1/videos``,
a remix, an asynchronous image request: the request's own URL, or "" for the licence's
``webhook_url``); tasks made for a chat stream are not (the stream carries their result). When such
a task ends here (``TaskEngine.on_finished``), the listener only schedules: the task object is
rendered as the API returns it (a renderer the composition root passes in, as the service cannot
import the API layer), wrapped in an event envelope (``{"type", "timestamp", "data"}``, as in
Standard Webhooks' examples) and written to the outbox in the store, and the dispatcher
(``webhook_delivery``) is woken. The engine never waits for any of it, and a receiver never delays
a task. Secrets: the licence's ``webhook_secret``, else the gateway's (``[webhooks] secret``, else
one generated once and kept in the store); never written to a delivery, a log or a listing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import orjson
import structlog

from gateway.config import Settings
from gateway.domain import (
    DeliveryStatus,
    Kind,
    LicenceDefinition,
    TaskRecord,
    TaskStatus,
    WebhookDelivery,
)
from gateway.errors import NotFoundError
from gateway.media.fetch import allow_all, create_fetch_session, public_only
from gateway.service.audit import AuditTrail
from gateway.service.webhook_delivery import DeliveryPolicy, HttpSender, KeyFinder, WebhookDispatcher
from gateway.service.webhook_sign import new_webhook_secret, signing_key
from gateway.service.webhook_urls import WebhookUrlGuard
from gateway.store.base import OutboxStore, Store

log = structlog.get_logger("gateway.service.webhooks")
WEBHOOK_URL = "webhook_url"  # the order key: present (maybe "") on tasks a webhook may tell about
# The name the generated gateway-wide secret is kept under, in the store's secrets.
SECRET_NAME = "webhook_secret"  # noqa: S105 - a name, not a secret
CLAIM_MARGIN = 30.0  # seconds a claim outlasts the send timeout
# The API's object of a finished task (``GET /v1/videos/{id}``, ``GET /v1/images/{id}``).
TaskRenderer = Callable[[TaskRecord], Awaitable[dict[str, object]]]
LicenceFinder = Callable[[str], Awaitable[LicenceDefinition | None]]


def webhook_order(url: str | None) -> dict[str, str | int]:
    """The order key of a new task a webhook may tell about (``url`` None: none may; "": the
    licence's URL applies), for the task's ``order``."""
    return {} if url is None else {WEBHOOK_URL: url}


def event_of(record: TaskRecord) -> str:
    """``video.completed``, ``video.failed``, ``image.completed`` or ``image.failed``."""
    outcome = "completed" if record.status is TaskStatus.COMPLETED else "failed"
    return f"{'video' if record.kind is Kind.VIDEO else 'image'}.{outcome}"


def delivery_id(task_id: str, event: str) -> str:
    """``msg_`` and a digest of the task and event: the same end of a task is one delivery, however
    often it is reported (the ``webhook-id`` receivers deduplicate by)."""
    return "msg_" + hashlib.sha256(f"{task_id}\n{event}".encode()).hexdigest()[:32]


class Webhooks:
    """The outbox's writer and its admin operations; ``dispatcher`` sends what it holds."""

    def __init__(
        self,
        *,
        store: Store,
        render: TaskRenderer,
        licence_of: LicenceFinder,
        dispatcher: WebhookDispatcher,
        guard: WebhookUrlGuard,
    ) -> None:
        self._store = store
        self._render = render
        self._licence_of = licence_of
        self.dispatcher = dispatcher
        self._guard = guard
        self._clock = dispatcher.clock  # one clock for writing and sending (tests step it)
        self._writing: set[asyncio.Task[WebhookDelivery | None]] = set()

    async def check_url(self, url: str) -> str:
        """A URL a client or an operator names, if a webhook may go there (400 ``invalid_webhook_url``)."""
        return await self._guard.check(url)

    def on_finished(self, record: TaskRecord) -> None:
        """The engine's listener: schedules the delivery and returns at once."""
        if WEBHOOK_URL not in record.order:
            return
        task = asyncio.create_task(self.enqueue(record), name=f"webhook-enqueue:{record.id}")
        self._writing.add(task)
        task.add_done_callback(self._written)

    async def enqueue(self, record: TaskRecord) -> WebhookDelivery | None:
        """Write the delivery a finished task owes (None: no URL applies, or it is written already)."""
        url = str(record.order.get(WEBHOOK_URL) or "")
        if not url:
            licence = await self._licence_of(record.owner)
            url = licence.webhook_url if licence is not None else ""
        event = event_of(record)
        message_id = delivery_id(record.id, event)
        if not url or await self._store.get_delivery(message_id) is not None:
            return None
        now = self._clock()
        envelope = {"type": event, "timestamp": _iso(now), "data": await self._render(record)}
        delivery = WebhookDelivery(
            id=message_id,
            licence_id=record.owner,
            task_id=record.id,
            url=url,
            event=event,
            body=orjson.dumps(envelope),
            created_at=now,
            next_at=now,
        )
        await self._store.put_delivery(delivery)
        self.dispatcher.wake()
        return delivery

    async def flush(self) -> None:
        """Wait for the deliveries being written (at shutdown, after the engine; tests)."""
        while self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    async def get(self, message_id: str) -> WebhookDelivery:
        """One delivery (404 when unknown)."""
        return await _delivery(self._store, message_id)

    async def list(
        self,
        *,
        task_id: str = "",
        licence_id: str = "",
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[WebhookDelivery]:
        """Deliveries, newest first, filtered as asked."""
        return await self._store.list_deliveries(
            task_id=task_id, licence_id=licence_id, status=status, limit=limit
        )

    async def retry(self, message_id: str, *, audit: AuditTrail) -> WebhookDelivery:
        """:func:`retry_delivery`, sent at once (after an attempt under way is recorded, so that its
        outcome cannot overwrite the retry)."""
        await self.dispatcher.settled(message_id)
        delivery = await retry_delivery(self._store, message_id, audit=audit, now=self._clock())
        self.dispatcher.wake()
        return delivery

    def _written(self, task: asyncio.Task[WebhookDelivery | None]) -> None:
        self._writing.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("webhook_enqueue_failed", task=task.get_name(), error=repr(error))


async def retry_delivery(
    store: OutboxStore, message_id: str, *, audit: AuditTrail, now: float
) -> WebhookDelivery:
    """A delivery pending again and due at ``now`` (a failed one, or one delivered that a receiver
    lost), with a fresh series of attempts; its history is kept, and the change audited."""
    before = await _delivery(store, message_id)
    after = replace(before, status=DeliveryStatus.PENDING, attempts=0, next_at=now)
    await store.put_delivery(after)
    await audit.record("webhook.retry", message_id, before=_summary(before), after=_summary(after))
    return after


async def _delivery(store: OutboxStore, message_id: str) -> WebhookDelivery:
    delivery = await store.get_delivery(message_id)
    if delivery is None:
        raise NotFoundError(f"No webhook delivery found with id '{message_id}'.", param="id")
    return delivery


def _summary(delivery: WebhookDelivery) -> dict[str, object]:
    return {"status": delivery.status.value, "attempts": delivery.attempts, "task_id": delivery.task_id}


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


async def gateway_secret(configured: str, store: Store) -> str:
    """``[webhooks] secret``, else the one generated once and kept in the store."""
    if configured:
        return configured
    kept = await store.get_secret(SECRET_NAME)
    if kept is None:  # kept if absent, then read back: replicas starting at once agree on one secret
        kept = await store.set_secret_if_absent(SECRET_NAME, new_webhook_secret())
    return kept


def key_finder(licence_of: LicenceFinder, fallback: str) -> KeyFinder:
    """The signing key of a licence's deliveries: its own secret, else the gateway's."""
    fallback_key = signing_key(fallback)

    async def key_of(licence_id: str) -> bytes:
        licence = await licence_of(licence_id)
        return signing_key(licence.webhook_secret) if licence and licence.webhook_secret else fallback_key

    return key_of


@asynccontextmanager
async def open_webhooks(
    settings: Settings, *, store: Store, render: TaskRenderer, licence_of: LicenceFinder
) -> AsyncIterator[Webhooks]:
    """The webhook service with its session and delivery loop; on exit, the writes under way land
    and the loop stops (what it was sending is due again at the next start)."""
    config = settings.webhooks
    allow_private = (
        settings.media.allow_private_urls if config.allow_private_urls is None else config.allow_private_urls
    )
    guard = WebhookUrlGuard(allow_all if allow_private else public_only)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(guard.close)
        session = await stack.enter_async_context(create_fetch_session(allow_private=allow_private))
        dispatcher = WebhookDispatcher(
            store=store,
            send=HttpSender(session, timeout=config.timeout, guard=guard),
            key_of=key_finder(licence_of, await gateway_secret(config.secret, store)),
            policy=DeliveryPolicy(concurrency=config.concurrency, claim=config.timeout + CLAIM_MARGIN),
        )
        webhooks = Webhooks(
            store=store, render=render, licence_of=licence_of, dispatcher=dispatcher, guard=guard
        )
        loop = asyncio.create_task(dispatcher.run(), name="webhooks:delivery")
        try:
            yield webhooks
        finally:
            await webhooks.flush()
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
            await dispatcher.close()
