"""The webhook service against receivers written here: signatures a receiver verifies with its
secret, retries with backoff stepped by a fake clock, SSRF refusals at request and delivery time,
a hanging receiver that holds nothing up, and one licence never told of another's tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import orjson
import pytest

from gateway.domain import DeliveryStatus, Kind, LicenceDefinition, TaskRecord, TaskStage, TaskStatus
from gateway.errors import InvalidRequestError
from gateway.media.fetch import allow_all, create_fetch_session, public_only
from gateway.service.audit import AuditTrail
from gateway.service.webhook_delivery import DeliveryPolicy, HttpSender, WebhookCollector, WebhookDispatcher
from gateway.service.webhook_sign import new_webhook_secret
from gateway.service.webhook_urls import WebhookUrlGuard
from gateway.service.webhooks import WEBHOOK_URL, Webhooks, key_finder
from gateway.store.memory import MemoryStore
from tests.support.webhook_receiver import Receiver, receiver_factory, verified

GATEWAY_SECRET = new_webhook_secret()
__all__ = ["receiver_factory"]  # the fixture, imported for pytest


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Rig:
    store: MemoryStore
    webhooks: Webhooks
    dispatcher: WebhookDispatcher
    clock: FakeClock
    licences: dict[str, LicenceDefinition]


async def rendered(record: TaskRecord) -> dict[str, object]:
    return {"id": record.id, "object": "video", "status": record.status.value}


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig_factory() -> AsyncIterator[RigFactory]:
    made: list[tuple[aiohttp.ClientSession, WebhookUrlGuard, WebhookDispatcher]] = []

    async def make(*, allow_private: bool = True, concurrency: int = 4) -> Rig:
        clock, store = FakeClock(), MemoryStore()
        licences: dict[str, LicenceDefinition] = {}

        async def licence_of(licence_id: str) -> LicenceDefinition | None:
            return licences.get(licence_id)

        guard = WebhookUrlGuard(allow_all if allow_private else public_only)
        session = create_fetch_session(allow_private=allow_private)
        dispatcher = WebhookDispatcher(
            store=store,
            send=HttpSender(session, timeout=10.0, guard=guard),
            key_of=key_finder(licence_of, GATEWAY_SECRET),
            policy=DeliveryPolicy(concurrency=concurrency),
            clock=clock,
        )
        webhooks = Webhooks(
            store=store, render=rendered, licence_of=licence_of, dispatcher=dispatcher, guard=guard
        )
        made.append((session, guard, dispatcher))
        return Rig(store, webhooks, dispatcher, clock, licences)

    yield make
    for session, guard, dispatcher in made:
        await dispatcher.close()
        await session.close()
        await guard.close()


def task(
    task_id: str, *, owner: str = "lic-a", url: str | None = "", status: TaskStatus = TaskStatus.COMPLETED
) -> TaskRecord:
    """A finished video task; ``url`` None: made for a chat stream (no webhook key in its order)."""
    order: dict[str, str | int | bool | None] = {"model": "veo_3_1"}
    if url is not None:
        order[WEBHOOK_URL] = url
    return TaskRecord(
        task_id, owner, Kind.VIDEO, "veo_3_1", "p", status, TaskStage.DONE, 1.0, 2.0, order=order
    )


def licence(licence_id: str, *, url: str = "", secret: str = "") -> LicenceDefinition:
    return LicenceDefinition(licence_id, licence_id, "0" * 64, webhook_url=url, webhook_secret=secret)


async def told(rig: Rig, record: TaskRecord) -> None:
    """The engine's call, then the write it scheduled."""
    rig.webhooks.on_finished(record)
    await rig.webhooks.flush()


async def test_a_receiver_verifies_the_signature_with_the_licences_secret(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig, receiver = await rig_factory(), await receiver_factory()
    secret = new_webhook_secret()
    rig.licences["lic-a"] = licence("lic-a", secret=secret)
    await told(rig, task("video_1", url=receiver.url))
    assert await rig.dispatcher.deliver_due() == 1
    [(headers, body)] = receiver.got
    assert verified(secret, headers, body, now=rig.clock.now)
    assert not verified(GATEWAY_SECRET, headers, body, now=rig.clock.now)  # its own secret, not the gateway's
    assert not verified(secret, headers, body + b" ", now=rig.clock.now)  # a changed body does not pass
    envelope = orjson.loads(body)
    assert envelope["type"] == "video.completed"
    assert envelope["data"] == {"id": "video_1", "object": "video", "status": "completed"}
    assert envelope["timestamp"].endswith("Z")
    assert headers["Content-Type"] == "application/json"
    [delivery] = await rig.store.list_deliveries(task_id="video_1")
    assert headers["webhook-id"] == delivery.id
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.history == ((rig.clock.now, 200, ""),)


async def test_without_a_secret_of_its_own_a_licence_is_signed_with_the_gateways(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig, receiver = await rig_factory(), await receiver_factory()
    rig.licences["lic-a"] = licence("lic-a", url=receiver.url)  # and the licence's URL applies
    await told(rig, task("video_1", url="", status=TaskStatus.FAILED))
    await rig.dispatcher.deliver_due()
    [(headers, body)] = receiver.got
    assert verified(GATEWAY_SECRET, headers, body, now=rig.clock.now)
    assert orjson.loads(body)["type"] == "video.failed"


async def test_a_failing_receiver_is_retried_with_backoff_then_given_up_and_sent_again(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig, receiver = await rig_factory(), await receiver_factory()
    receiver.status = 503
    await told(rig, task("video_1", url=receiver.url))
    waits = []
    for _ in range(8):
        assert await rig.dispatcher.deliver_due() == 1
        assert await rig.dispatcher.deliver_due() == 0  # not due again until its backoff has passed
        [delivery] = await rig.store.list_deliveries()
        if delivery.status is DeliveryStatus.FAILED:
            break
        waits.append(delivery.next_at - rig.clock.now)
        rig.clock.advance(waits[-1])
    assert waits == [5, 30, 120, 600, 1800, 3600, 10800]
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == 8
    assert [status for _, status, _ in delivery.history] == [503] * 8
    assert delivery.last_error == "HTTP 503"
    assert len(receiver.got) == 8 and len({h["webhook-id"] for h, _ in receiver.got}) == 1
    assert len({h["webhook-timestamp"] for h, _ in receiver.got}) == 8  # every attempt signed anew
    assert await rig.dispatcher.deliver_due() == 0  # given up: nothing is due

    receiver.status = 204
    audit = AuditTrail(rig.store, actor="admin-api", clock=rig.clock)
    again = await rig.webhooks.retry(delivery.id, audit=audit)
    assert again.status is DeliveryStatus.PENDING and again.attempts == 0
    assert await rig.dispatcher.deliver_due() == 1
    done = await rig.webhooks.get(delivery.id)
    assert done.status is DeliveryStatus.DELIVERED and len(done.history) == 9
    [entry] = await rig.store.list_audit(target=delivery.id)
    assert entry.action == "webhook.retry" and entry.before == {
        "status": "failed",
        "attempts": 8,
        "task_id": "video_1",
    }
    assert rig.dispatcher.outcomes == {"delivered": 1, "retry": 7, "failed": 1}


async def test_urls_that_reach_the_gateways_own_network_are_refused_when_named(
    rig_factory: RigFactory,
) -> None:
    rig = await rig_factory(allow_private=False)
    for url, why in (
        ("http://127.0.0.1:8000/hook", "private or local"),
        ("http://[::1]/hook", "private or local"),
        ("http://169.254.169.254/latest/meta-data", "private or local"),
        ("http://localhost/hook", "resolves to a private or local address"),
        ("ftp://example.com/hook", "http(s)"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("/relative", "http(s)"),
    ):
        with pytest.raises(InvalidRequestError) as refused:
            await rig.webhooks.check_url(url)
        assert refused.value.param == "webhook_url" and refused.value.code == "invalid_webhook_url"
        assert why in refused.value.message, url


async def test_an_ssrf_target_is_refused_at_delivery_without_being_contacted(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig, receiver = await rig_factory(allow_private=False), await receiver_factory()
    literal = receiver.url  # http://127.0.0.1:PORT/hook: a literal, refused before any connection
    named = receiver.url.replace("127.0.0.1", "localhost")  # a name the resolver refuses at connect
    rig.licences["lic-a"] = licence("lic-a")
    await told(rig, task("video_literal", url=literal))
    await told(rig, task("video_named", url=named))
    assert await rig.dispatcher.deliver_due() == 2
    assert receiver.got == []
    [by_literal] = await rig.store.list_deliveries(task_id="video_literal")
    assert by_literal.status is DeliveryStatus.FAILED and by_literal.attempts == 1  # never retried
    assert "private or local" in by_literal.last_error
    [by_name] = await rig.store.list_deliveries(task_id="video_named")
    assert by_name.status is DeliveryStatus.PENDING and by_name.last_status == 0  # DNS may change: retried
    assert "private or local" in by_name.last_error


async def test_a_hanging_receiver_holds_one_slot_and_nothing_else(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig = await rig_factory(concurrency=2)
    hanging, quick = await receiver_factory(), await receiver_factory()
    hanging.hold = asyncio.Event()
    rig.webhooks.on_finished(task("video_slow", url=hanging.url))  # returns at once: it only schedules
    assert await rig.store.list_deliveries() == []
    await rig.webhooks.flush()
    [slow] = await rig.dispatcher.sweep()
    await hanging.arrived.wait()
    await told(rig, task("video_quick", url=quick.url))
    [fast] = await rig.dispatcher.sweep()
    await fast  # delivered while the other receiver still holds its request
    assert [d.status for d in await rig.store.list_deliveries(task_id="video_quick")] == [
        DeliveryStatus.DELIVERED
    ]
    assert not slow.done()
    hanging.hold.set()
    await slow
    assert [d.status for d in await rig.store.list_deliveries(task_id="video_slow")] == [
        DeliveryStatus.DELIVERED
    ]


async def test_an_attempt_interrupted_by_shutdown_is_due_again_at_once(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig, receiver = await rig_factory(), await receiver_factory()
    receiver.hold = asyncio.Event()
    await told(rig, task("video_1", url=receiver.url))
    await rig.dispatcher.sweep()
    await receiver.arrived.wait()
    [claimed] = await rig.store.list_deliveries()
    assert claimed.next_at > rig.clock.now  # claimed while it is being sent: no other sweep sends it
    await rig.dispatcher.close()
    [left] = await rig.store.list_deliveries()
    assert left.status is DeliveryStatus.PENDING and left.attempts == 0 and left.next_at == rig.clock.now
    receiver.hold.set()


async def test_one_end_of_a_task_is_one_delivery_and_chat_tasks_are_not_told(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig, receiver = await rig_factory(), await receiver_factory()
    rig.licences["lic-a"] = licence("lic-a", url=receiver.url)
    await told(rig, task("video_1"))
    await told(rig, task("video_1"))  # reported twice (e.g. by two replicas): still one delivery
    await told(rig, task("video_chat", url=None))  # made for a chat stream: no webhook
    rig.licences["lic-b"] = licence("lic-b")  # no URL anywhere: nothing is owed
    await told(rig, task("video_b", owner="lic-b"))
    assert [d.task_id for d in await rig.store.list_deliveries()] == ["video_1"]


async def test_one_licence_is_never_told_of_anothers_tasks(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig = await rig_factory()
    receiver_a, receiver_b = await receiver_factory(), await receiver_factory()
    secret_a, secret_b = new_webhook_secret(), new_webhook_secret()
    rig.licences["lic-a"] = licence("lic-a", url=receiver_a.url, secret=secret_a)
    rig.licences["lic-b"] = licence("lic-b", url=receiver_b.url, secret=secret_b)
    await told(rig, task("video_a", owner="lic-a"))
    await told(rig, task("video_b", owner="lic-b"))
    assert await rig.dispatcher.deliver_due() == 2
    [(headers_a, body_a)], [(headers_b, body_b)] = receiver_a.got, receiver_b.got
    assert orjson.loads(body_a)["data"]["id"] == "video_a" and orjson.loads(body_b)["data"]["id"] == "video_b"
    assert verified(secret_a, headers_a, body_a, now=rig.clock.now)
    assert not verified(secret_a, headers_b, body_b, now=rig.clock.now)  # b's is signed for b only
    assert [d.task_id for d in await rig.webhooks.list(licence_id="lic-a")] == ["video_a"]
    assert [d.task_id for d in await rig.webhooks.list(licence_id="lic-b")] == ["video_b"]


async def test_metrics_count_outcomes_and_the_backlog(
    rig_factory: RigFactory, receiver_factory: Callable[[], Awaitable[Receiver]]
) -> None:
    rig, receiver = await rig_factory(), await receiver_factory()
    receiver.status = 500
    await told(rig, task("video_1", url=receiver.url))
    await rig.dispatcher.deliver_due()
    samples = {
        (s.name, tuple(s.labels.values())): s.value
        for family in WebhookCollector(rig.dispatcher).collect()
        for s in family.samples
    }
    assert samples[("gateway_webhook_deliveries_total", ("retry",))] == 1
    assert samples[("gateway_webhook_deliveries_total", ("delivered",))] == 0
    assert samples[("gateway_webhook_outbox_backlog", ())] == 1
