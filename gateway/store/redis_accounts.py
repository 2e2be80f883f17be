"""Account definitions and runtime states in Redis (``RedisStore``'s facet).

Definitions and states are two hashes keyed by account id (a few hundred accounts at most: read
whole). A write of definitions, the revision's increment and the word to the other replicas
(``PUBLISH`` on the store's channel) are one ``MULTI``: a replica that hears of a change always
finds it, and a write that fails is not announced.
"""

from __future__ import annotations

from redis.asyncio.client import Pipeline

from gateway.domain import AccountDefinition, AccountRecord
from gateway.store.base import ACCOUNTS_TOPIC
from gateway.store.redis_codec import (
    definition_from_json,
    definition_to_json,
    record_from_json,
    record_to_json,
)
from gateway.store.redis_facet import RedisFacet, as_bytes, as_document, as_text


class RedisAccounts(RedisFacet):
    """Redis-backed account definitions, states and projects' cleanup."""

    async def put_accounts(self, records: list[AccountRecord]) -> None:
        """Save accounts' runtime state (one command)."""
        if records:
            await self._redis.hset(
                self._key("acc", "states"), mapping={r.account_id: record_to_json(r) for r in records}
            )

    async def get_accounts(self) -> dict[str, AccountRecord]:
        """Every saved account state."""
        saved = await self._redis.hgetall(self._key("acc", "states"))
        return {as_text(k): record_from_json(as_document(v)) for k, v in saved.items()}

    async def put_definitions(self, definitions: list[AccountDefinition]) -> None:
        """Add or replace account definitions, move the revision once and tell the other replicas."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if definitions:
                pipe.hset(
                    self._key("acc", "defs"), mapping={d.id: definition_to_json(d) for d in definitions}
                )
            self._bump_accounts(pipe)
            await pipe.execute()

    async def delete_definition(self, account_id: str) -> bool:
        """Forget an account's definition, its saved state and its project (one ``MULTI``)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key("acc", "defs"), account_id)
            pipe.hdel(self._key("acc", "states"), account_id)
            pipe.hdel(self._key("projects"), account_id)
            self._bump_accounts(pipe)
            deleted, *_ = await pipe.execute()
        return int(deleted) > 0

    async def get_definition(self, account_id: str) -> AccountDefinition | None:
        """One account definition."""
        raw = as_bytes(await self._redis.hget(self._key("acc", "defs"), account_id))
        return definition_from_json(raw) if raw is not None else None

    async def get_definitions(self) -> list[AccountDefinition]:
        """Every account definition, oldest first."""
        raws = await self._redis.hvals(self._key("acc", "defs"))
        return sorted(
            (definition_from_json(as_document(r)) for r in raws), key=lambda d: (d.created_at, d.id)
        )

    async def definitions_revision(self) -> int:
        """A number that changes whenever a definition is written or deleted (by any replica)."""
        return int(await self._redis.get(self._key("rev", ACCOUNTS_TOPIC)) or 0)

    def _bump_accounts(self, pipe: Pipeline) -> None:
        """Queue the revision's increment and the announcement on ``pipe`` (a MULTI pipeline)."""
        pipe.incr(self._key("rev", ACCOUNTS_TOPIC))
        pipe.publish(self._key("changes"), ACCOUNTS_TOPIC)
