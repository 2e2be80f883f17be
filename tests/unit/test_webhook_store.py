"""The webhook outbox facet, over both backends: upsert, what is due, listings, the backlog."""

from dataclasses import replace
from pathlib import Path

from gateway.domain import DeliveryStatus, WebhookDelivery
from gateway.store.base import Store
from gateway.store.sqlite import open_sqlite_store


def delivery(
    message_id: str, *, licence: str = "lic-a", task: str = "t1", at: float = 10.0
) -> WebhookDelivery:
    return WebhookDelivery(
        id=message_id,
        licence_id=licence,
        task_id=task,
        url="https://hooks.example/in",
        event="video.completed",
        body=b'{"type":"video.completed","data":{"id":"' + task.encode() + b'"}}',
        created_at=at,
        next_at=at,
    )


async def test_a_delivery_round_trips_with_its_history(store: Store) -> None:
    tried = replace(
        delivery("msg_1"),
        attempts=2,
        next_at=99.5,
        last_status=503,
        last_error="HTTP 503",
        history=((11.0, 0, "could not connect to the receiver"), (16.0, 503, "HTTP 503")),
    )
    await store.put_delivery(tried)
    assert await store.get_delivery("msg_1") == tried
    assert await store.get_delivery("msg_unknown") is None
    done = replace(tried, status=DeliveryStatus.DELIVERED, delivered_at=120.0, next_at=0.0)
    await store.put_delivery(done)  # an upsert: one row, the newest version
    assert await store.get_delivery("msg_1") == done
    assert await store.list_deliveries() == [done]


async def test_only_pending_deliveries_whose_time_has_come_are_due_soonest_first(store: Store) -> None:
    await store.put_delivery(replace(delivery("msg_late"), next_at=30.0))
    await store.put_delivery(replace(delivery("msg_soon"), next_at=5.0))
    await store.put_delivery(replace(delivery("msg_now"), next_at=20.0))
    await store.put_delivery(replace(delivery("msg_done"), next_at=1.0, status=DeliveryStatus.DELIVERED))
    await store.put_delivery(replace(delivery("msg_gave_up"), next_at=1.0, status=DeliveryStatus.FAILED))
    assert [d.id for d in await store.due_deliveries(20.0, 10)] == ["msg_soon", "msg_now"]
    assert [d.id for d in await store.due_deliveries(20.0, 1)] == ["msg_soon"]
    assert [d.id for d in await store.due_deliveries(4.0, 10)] == []
    assert await store.outbox_backlog() == 3  # pending, due or not


async def test_listings_filter_by_task_licence_and_status_newest_first(store: Store) -> None:
    await store.put_delivery(delivery("msg_a1", licence="lic-a", task="ta1", at=1.0))
    await store.put_delivery(delivery("msg_a2", licence="lic-a", task="ta2", at=2.0))
    await store.put_delivery(
        replace(delivery("msg_b1", licence="lic-b", task="tb1", at=3.0), status=DeliveryStatus.FAILED)
    )
    assert [d.id for d in await store.list_deliveries()] == ["msg_b1", "msg_a2", "msg_a1"]
    assert [d.id for d in await store.list_deliveries(licence_id="lic-a")] == ["msg_a2", "msg_a1"]
    assert [d.id for d in await store.list_deliveries(licence_id="lic-b")] == ["msg_b1"]
    assert [d.id for d in await store.list_deliveries(task_id="ta1")] == ["msg_a1"]
    assert [d.id for d in await store.list_deliveries(status=DeliveryStatus.FAILED)] == ["msg_b1"]
    assert [d.id for d in await store.list_deliveries(licence_id="lic-a", task_id="tb1")] == []
    assert [d.id for d in await store.list_deliveries(limit=1)] == ["msg_b1"]


async def test_the_sqlite_outbox_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    async with open_sqlite_store(path) as first:
        await first.put_delivery(delivery("msg_kept"))
    async with open_sqlite_store(path) as second:
        assert [d.id for d in await second.due_deliveries(10.0, 10)] == ["msg_kept"]
        assert (await second.get_delivery("msg_kept")) == delivery("msg_kept")
