"""The webhook outbox in memory (``MemoryStore``'s facet)."""

from __future__ import annotations

from gateway.domain import DeliveryStatus, WebhookDelivery


class MemoryOutbox:
    """Dict-backed ``OutboxStore``."""

    def __init__(self) -> None:
        super().__init__()  # cooperative: MemoryStore mixes several facets
        self._deliveries: dict[str, WebhookDelivery] = {}

    async def put_delivery(self, delivery: WebhookDelivery) -> None:
        """Save a delivery."""
        self._deliveries[delivery.id] = delivery

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        """One delivery."""
        return self._deliveries.get(delivery_id)

    async def due_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries due now, soonest first."""
        due = (
            d for d in self._deliveries.values() if d.status is DeliveryStatus.PENDING and d.next_at <= now
        )
        return sorted(due, key=lambda d: (d.next_at, d.id))[:limit]

    async def list_deliveries(
        self,
        *,
        task_id: str = "",
        licence_id: str = "",
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[WebhookDelivery]:
        """Matching deliveries, newest first."""
        rows = (
            d
            for d in self._deliveries.values()
            if (not task_id or d.task_id == task_id)
            and (not licence_id or d.licence_id == licence_id)
            and (status is None or d.status is status)
        )
        return sorted(rows, key=lambda d: (d.created_at, d.id), reverse=True)[:limit]

    async def outbox_backlog(self) -> int:
        """Pending deliveries."""
        return sum(d.status is DeliveryStatus.PENDING for d in self._deliveries.values())
