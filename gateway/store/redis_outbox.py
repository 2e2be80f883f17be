"""The webhook outbox in Redis (``RedisStore``'s facet).

A delivery is a hash (``dlv:<id>``: ``doc``, the JSON without the body, and ``body``, the bytes
signed and sent). While it is pending it is in ``dlvs:due``, scored by ``next_at``: what is due is
one range read from that sorted set, soonest first. Listings walk the smallest of the indexes
scored by ``created_at`` (every delivery, a task's, a licence's, a status's), newest first. A write
moves a delivery between them in one script, so a delivered one leaves ``due`` as it is saved.
"""

from __future__ import annotations

from gateway.domain import DeliveryStatus, WebhookDelivery
from gateway.store.outbox_sqlite import delivery_doc, delivery_of
from gateway.store.redis_facet import IndexCursor, Indexed, RedisFacet, as_bytes, as_text


class RedisOutbox(RedisFacet):
    """Redis-backed ``OutboxStore``."""

    async def put_delivery(self, delivery: WebhookDelivery) -> None:
        """Save a delivery (upsert by id)."""
        at = delivery.created_at
        indexes = [
            (self._key("dlvs", "all"), at),
            (self._key("dlvs", "t", delivery.task_id), at),
            (self._key("dlvs", "l", delivery.licence_id), at),
            (self._key("dlvs", "s", delivery.status.value), at),
        ]
        if delivery.status is DeliveryStatus.PENDING:
            indexes.append((self._key("dlvs", "due"), delivery.next_at))
        fields = {"doc": delivery_doc(delivery), "body": delivery.body}
        await self._upsert([Indexed(self._key("dlv", delivery.id), delivery.id, fields, indexes)])

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        """One delivery."""
        (found,) = await self._deliveries([delivery_id])
        return found

    async def due_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries due now, soonest first (by ``next_at``, then id)."""
        if limit <= 0:
            return []
        due = await self._redis.zrangebyscore(self._key("dlvs", "due"), "-inf", repr(float(now)), 0, limit)
        found = await self._deliveries([as_text(m) for m in due])
        return [d for d in found if d is not None and d.status is DeliveryStatus.PENDING]

    async def list_deliveries(
        self,
        *,
        task_id: str = "",
        licence_id: str = "",
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[WebhookDelivery]:
        """Matching deliveries, newest first."""
        wanted = [
            self._key("dlvs", key, value)
            for key, value in (("t", task_id), ("l", licence_id), ("s", status.value if status else ""))
            if value
        ]
        index = await self._smallest([*wanted, self._key("dlvs", "all")])
        walk = IndexCursor.descending(self._redis, index, step=min(max(limit, 50), 500))
        found: list[WebhookDelivery] = []
        while len(found) < limit and (chunk := await walk.take()):
            for delivery in await self._deliveries([m for m, _ in chunk]):
                if delivery is not None and _matches(delivery, task_id, licence_id, status):
                    found.append(delivery)
        return found[:limit]

    async def outbox_backlog(self) -> int:
        """Pending deliveries (due now or waiting for a retry)."""
        return int(await self._redis.zcard(self._key("dlvs", "due")))

    async def _deliveries(self, ids: list[str]) -> list[WebhookDelivery | None]:
        """Deliveries by id, in order, in one round trip (None where one is gone)."""
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.hmget(self._key("dlv", delivery_id), ["doc", "body"])
            rows = await pipe.execute()
        return [
            delivery_of(body, doc) if doc is not None and body is not None else None
            for doc, body in ((as_bytes(d), as_bytes(b)) for d, b in rows)
        ]


def _matches(delivery: WebhookDelivery, task_id: str, licence_id: str, status: DeliveryStatus | None) -> bool:
    return (
        (not task_id or delivery.task_id == task_id)
        and (not licence_id or delivery.licence_id == licence_id)
        and (status is None or delivery.status is status)
    )
