"""The webhook outbox in SQLite (``SqliteStore``'s facet).

The columns beside ``doc`` are what the delivery loop filters and orders by (``status``,
``next_at``: the ``outbox_due`` index); the body is a BLOB of its own, so ``doc`` (the rest of the
delivery, JSON) stays small and readable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from gateway.domain import DeliveryStatus, WebhookDelivery
from gateway.store.sqlite_facet import SqliteFacet

_DOC_FIELDS = tuple(f.name for f in dataclasses.fields(WebhookDelivery) if f.name != "body")


class SqliteOutbox(SqliteFacet):
    """SQLite-backed ``OutboxStore``."""

    async def put_delivery(self, delivery: WebhookDelivery) -> None:
        """Save a delivery (upsert by id)."""
        await self._db.execute(
            "INSERT OR REPLACE INTO webhook_outbox (id, status, next_at, licence_id, task_id, created_at, "
            "body, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                delivery.id,
                delivery.status.value,
                delivery.next_at,
                delivery.licence_id,
                delivery.task_id,
                delivery.created_at,
                delivery.body,
                delivery_doc(delivery),
            ),
        )
        await self._db.commit()

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        """One delivery."""
        async with self._db.execute(
            "SELECT body, doc FROM webhook_outbox WHERE id = ?", (delivery_id,)
        ) as cur:
            row = await cur.fetchone()
        return delivery_of(row[0], row[1]) if row else None

    async def due_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries due now, soonest first."""
        sql = (
            "SELECT body, doc FROM webhook_outbox WHERE status = 'pending' AND next_at <= ? "
            "ORDER BY next_at, id LIMIT ?"
        )
        async with self._db.execute(sql, (now, limit)) as cur:
            rows = await cur.fetchall()
        return [delivery_of(r[0], r[1]) for r in rows]

    async def list_deliveries(
        self,
        *,
        task_id: str = "",
        licence_id: str = "",
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[WebhookDelivery]:
        """Matching deliveries, newest first."""
        clauses, params = [], []
        for column, value in (
            ("task_id", task_id),
            ("licence_id", licence_id),
            ("status", status.value if status else ""),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = " AND ".join(clauses) or "1"
        sql = f"SELECT body, doc FROM webhook_outbox WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ?"  # noqa: S608 - fixed column names
        async with self._db.execute(sql, (*params, limit)) as cur:
            rows = await cur.fetchall()
        return [delivery_of(r[0], r[1]) for r in rows]

    async def outbox_backlog(self) -> int:
        """Pending deliveries."""
        async with self._db.execute("SELECT COUNT(*) FROM webhook_outbox WHERE status = 'pending'") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


def delivery_doc(delivery: WebhookDelivery) -> bytes:
    """Everything but the body, as JSON (the body is a column of its own)."""
    return orjson.dumps({name: getattr(delivery, name) for name in _DOC_FIELDS})


def delivery_of(body: bytes, doc: bytes | str) -> WebhookDelivery:
    """The inverse of :func:`delivery_doc` with its body; keys from a newer version are ignored."""
    raw: dict[str, Any] = orjson.loads(doc)
    values = {k: v for k, v in raw.items() if k in _DOC_FIELDS}
    values["status"] = DeliveryStatus(values["status"])
    values["history"] = tuple(
        (float(at), int(code), str(error)) for at, code, error in values.get("history", ())
    )
    return WebhookDelivery(body=bytes(body), **values)
