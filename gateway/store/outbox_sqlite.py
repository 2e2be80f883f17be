"""The webhook outbox in SQLite (``SqliteStore``'s facet)."""

from __future__ import annotations

from gateway.domain import WebhookDelivery
from gateway.store.sqlite_facet import SqliteFacet

TODO = "helper C implements this facet"


class SqliteOutbox(SqliteFacet):
    """SQLite-backed ``OutboxStore``."""

    async def put_delivery(self, delivery: WebhookDelivery) -> None:
        """Save a delivery."""
        raise NotImplementedError(TODO)

    async def due_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries due now."""
        raise NotImplementedError(TODO)

    async def list_deliveries(
        self, *, task_id: str = "", licence_id: str = "", limit: int = 100
    ) -> list[WebhookDelivery]:
        """Deliveries of a task or a licence."""
        raise NotImplementedError(TODO)
