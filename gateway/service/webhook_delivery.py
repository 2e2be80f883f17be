"""Sending what the webhook outbox holds: signed POSTs, retried with backoff, from the store.

The loop asks the store for pending deliveries that are due, claims each (its ``next_at`` pushed a
claim's length ahead, written before the POST: another sweep does not send it twice, and a process
that dies mid-send leaves it to be retried once the claim lapses), and sends at most
``concurrency`` at once; a receiver that hangs holds one slot until its timeout, nothing else. A
2xx is delivered; anything else (another status, a timeout, a refused connection) is retried after
the next step of the backoff, and after the last one the delivery is ``failed`` (an operator can
send it again: ``POST /admin/webhooks/{id}/retry``). Every attempt is kept in ``history``. Delivery
is at least once: receivers drop duplicates by ``webhook-id``.

Everything that decides is driven by ``sweep`` with an injected clock, so tests step through
retries without waiting; ``run`` only repeats it, woken by new deliveries and freed slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace

import aiohttp
import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.domain import DeliveryStatus, WebhookDelivery
from gateway.errors import InvalidRequestError
from gateway.media.fetch import RefusedAddressError
from gateway.service.webhook_sign import signed_headers
from gateway.service.webhook_urls import WebhookUrlGuard
from gateway.store.base import STORE_FAILURES, OutboxStore

log = structlog.get_logger("gateway.service.webhook_delivery")
# The signing key of a licence's deliveries (its own secret, else the gateway's).
KeyFinder = Callable[[str], Awaitable[bytes]]
ERROR_CHARS = 200  # of an attempt's error kept in its history
USER_AGENT = "flow-gateway-webhooks/1"


class DeliveryError(Exception):
    """An attempt that reached no answer (timeout, connection refused or failed); retried."""


class DeliveryRefusedError(DeliveryError):
    """A URL no attempt may go to (its form, or a refused IP literal): failed at once, not retried."""


Sender = Callable[[str, bytes, dict[str, str]], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """When and how much the loop sends."""

    # Seconds before each retry: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h; then failed (eight
    # attempts over about 4 h 42 min: a receiver down for a deploy or an afternoon still gets it).
    backoff: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 10800)
    concurrency: int = 16
    # New deliveries wake the loop at once; this is how soon a retry that came due is noticed.
    poll_interval: float = 5.0
    claim: float = 60.0  # must exceed the send timeout


class HttpSender:
    """POSTs through the SSRF-safe session (its resolver refuses private addresses)."""

    def __init__(self, session: aiohttp.ClientSession, *, timeout: float, guard: WebhookUrlGuard) -> None:
        self._session = session
        self._timeout = timeout
        self._guard = guard

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """The receiver's status; ``DeliveryError`` when there was none."""
        try:
            self._guard.check_form(url)  # literals are not resolved, so the resolver cannot refuse them
        except InvalidRequestError as exc:
            raise DeliveryRefusedError(exc.message) from None
        try:
            async with asyncio.timeout(self._timeout):
                async with self._session.post(
                    url, data=body, headers={**headers, "user-agent": USER_AGENT}, allow_redirects=False
                ) as resp:
                    return resp.status
        except TimeoutError:
            raise DeliveryError(f"no answer within {self._timeout:g}s") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddressError):
                raise DeliveryError("the host resolves to a private or local address; refused") from None
            raise DeliveryError("could not connect to the receiver") from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"the connection failed ({type(exc).__name__})") from None


class WebhookDispatcher:
    """Sends due deliveries (see the module)."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        send: Sender,
        key_of: KeyFinder,
        policy: DeliveryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._send = send
        self._key_of = key_of
        self._policy = policy or DeliveryPolicy()
        self.clock = clock
        self._inflight: dict[str, tuple[asyncio.Task[None], WebhookDelivery]] = {}
        self._wake = asyncio.Event()
        self.outcomes = {"delivered": 0, "retry": 0, "failed": 0}
        self.backlog = 0  # pending deliveries at the last sweep

    def wake(self) -> None:
        """Sweep now (a delivery was written, or a slot freed)."""
        self._wake.set()

    async def sweep(self) -> list[asyncio.Task[None]]:
        """Claim the deliveries due now (as many as there are free slots) and start sending them."""
        started: list[asyncio.Task[None]] = []
        free = self._policy.concurrency - len(self._inflight)
        if free > 0:
            now = self.clock()
            for due in await self._store.due_deliveries(now, free):
                if due.id in self._inflight:
                    continue  # cannot happen while claims are written, but never send one twice here
                claimed = replace(due, next_at=now + self._policy.claim)
                await self._store.put_delivery(claimed)
                task = asyncio.create_task(self._attempt(claimed), name=f"webhook:{due.id}")
                self._inflight[due.id] = (task, claimed)
                task.add_done_callback(functools.partial(self._finished, due.id))
                started.append(task)
        self.backlog = await self._store.outbox_backlog()
        return started

    async def deliver_due(self) -> int:
        """One sweep, waiting for its attempts to be recorded (tests step with it); how many."""
        started = await self.sweep()
        await asyncio.gather(*started)
        return len(started)

    async def settled(self, *delivery_ids: str) -> None:
        """Wait until the attempts under way (those of ``delivery_ids``, if given) are recorded."""
        tasks = [task for key, (task, _) in self._inflight.items() if not delivery_ids or key in delivery_ids]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self) -> None:
        """Sweep whenever woken, and at least every ``poll_interval`` seconds."""
        while True:
            self._wake.clear()
            try:
                await self.sweep()
            except STORE_FAILURES:  # the outbox is still there next time
                log.exception("webhook_sweep_failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._policy.poll_interval):
                    await self._wake.wait()

    async def close(self) -> None:
        """Stop the attempts under way; each is due again at once (the next start sends it without
        waiting for its claim to lapse), its interrupted attempt not counted."""
        running = list(self._inflight.values())
        stopped = [(task, claimed) for task, claimed in running if task.cancel()]  # False: it had ended
        await asyncio.gather(*(task for task, _ in running), return_exceptions=True)
        for _, claimed in stopped:
            await self._store.put_delivery(replace(claimed, next_at=self.clock()))

    def _finished(self, delivery_id: str, _: asyncio.Task[None]) -> None:
        self._inflight.pop(delivery_id, None)
        self.wake()

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        try:
            await self._store.put_delivery(await self._outcome(delivery))
        except STORE_FAILURES:  # the claim lapses and it is tried again
            log.exception("webhook_attempt_crashed", delivery=delivery.id)

    async def _outcome(self, delivery: WebhookDelivery) -> WebhookDelivery:
        key = await self._key_of(delivery.licence_id)
        at = self.clock()
        headers = signed_headers(key, message_id=delivery.id, timestamp=int(at), body=delivery.body)
        status, error, final = 0, "", False
        try:
            status = await self._send(delivery.url, delivery.body, headers)
        except DeliveryRefusedError as exc:
            error, final = str(exc), True
        except DeliveryError as exc:
            error = str(exc)
        if not error and not 200 <= status < 300:
            error = f"HTTP {status}"
        return self._next(delivery, at=at, status=status, error=error[:ERROR_CHARS], final=final)

    def _next(
        self, delivery: WebhookDelivery, *, at: float, status: int, error: str, final: bool
    ) -> WebhookDelivery:
        attempts = delivery.attempts + 1
        done = replace(
            delivery,
            attempts=attempts,
            last_status=status,
            last_error=error,
            history=(*delivery.history, (at, status, error)),
        )
        if not error:
            self._count("delivered", delivery, status)
            return replace(done, status=DeliveryStatus.DELIVERED, delivered_at=at, next_at=0.0)
        if final or attempts > len(self._policy.backoff):
            self._count("failed", delivery, status, error)
            return replace(done, status=DeliveryStatus.FAILED, next_at=0.0)
        self._count("retry", delivery, status, error)
        return replace(done, next_at=at + self._policy.backoff[attempts - 1])

    def _count(self, outcome: str, delivery: WebhookDelivery, status: int, error: str = "") -> None:
        self.outcomes[outcome] += 1
        log.info(
            "webhook_" + outcome,
            delivery=delivery.id,
            task=delivery.task_id,
            licence_id=delivery.licence_id,
            attempt=delivery.attempts + 1,
            status=status,
            error=error,
        )


class WebhookCollector(Collector):
    """Webhook attempts by outcome and the outbox backlog, read at scrape time."""

    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self._dispatcher = dispatcher

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """One scrape."""
        attempts = CounterMetricFamily(
            "gateway_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later) or"
            " failed (given up).",
            labels=["outcome"],
        )
        for outcome, count in sorted(self._dispatcher.outcomes.items()):
            attempts.add_metric([outcome], count)
        backlog = GaugeMetricFamily(
            "gateway_webhook_outbox_backlog",
            "Webhook deliveries pending (due, being sent or waiting to retry).",
        )
        backlog.add_metric([], self._dispatcher.backlog)
        yield from (attempts, backlog)
