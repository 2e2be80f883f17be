"""Account slots shared by every replica on one Redis: concurrency, rate per minute, daily cap.

Keys (``P`` the store's prefix):

- ``P slots:<account>:<capability>``: sorted set, lease id -> expiry (ms, Redis time). A holder
  renews its leases every ``ttl / 3``; a replica that dies stops renewing, and its slots drop out
  at the next claim after ``ttl``.
- ``P rate:<account>``: sorted set of lease starts (ms) in the last minute, when the account has an
  ``rpm``.
- ``P made:<account>:<capability>:<day>``: successes on UTC day number ``day`` (a 2-day TTL).
- ``P slots``: the pub/sub channel on which a release says "slot freed", so waiters on the other
  replicas look again at once.

Claims and releases are one Lua script each (``redis_slot_scripts.py``), on Redis' own clock
(replicas' clocks differ). This module matches the pool's ``SlotLedger`` Protocol by structure:
the store imports nothing above it.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis

from gateway.domain import Capability
from gateway.domain.slots import Limited
from gateway.errors import StoreUnavailableError
from gateway.store.redis_facet import DOWN, RETRY_AFTER, as_text
from gateway.store.redis_feed import ChannelListener
from gateway.store.redis_slot_scripts import SlotScripts

log = structlog.get_logger("gateway.store.redis")
TTL = 30.0  # seconds a lease lives in Redis without a renewal (a dead replica's slots free after it)


@dataclass(frozen=True, slots=True)
class SlotClaim:
    """Redis' answer to a claim."""

    lease_id: str
    granted: bool
    held: int | None
    until: float


@dataclass(frozen=True, slots=True)
class _Held:
    """A lease this replica holds: its keys, and what a release message names."""

    slots: str
    rate: str
    made: str
    account_id: str
    capability: Capability


FreedListener = Callable[[str, Capability, int], None]


class RedisSlots:
    """The slot ledger of the replicas sharing one Redis and prefix."""

    def __init__(self, client: Callable[[], Redis], key: Callable[..., str], *, ttl: float = TTL) -> None:
        self._client, self._key, self._ttl_ms = client, key, int(ttl * 1000)
        self._replica = secrets.token_hex(4)  # this process, in lease ids and in its own messages
        self._ids = itertools.count(1)
        self._held: dict[str, _Held] = {}  # the leases this replica holds, to renew and to free
        self._freed: FreedListener = lambda _account, _capability, _held: None
        self._bound: SlotScripts | None = None
        self._listener = ChannelListener(client, key("slots"), self._heard)

    @property
    def held(self) -> int:
        """Leases this replica holds in Redis."""
        return len(self._held)

    def on_freed(self, listener: FreedListener) -> None:
        """Call ``listener`` when another replica frees a slot."""
        self._freed = listener

    async def claim(self, account: Limited, capability: Capability) -> SlotClaim:
        """A slot if the account's limit, rate and daily cap allow it, every replica counted;
        ``StoreUnavailableError`` at once when Redis does not answer."""
        cap = capability.value
        args = [account.limits.get(capability, 0), account.rpm, account.daily.get(capability, 0)]
        try:
            return await self._run(account.id, capability, [*args, self._ttl_ms, "claim"])
        except DOWN as exc:
            raise StoreUnavailableError(
                f"the shared slot ledger is unavailable ({cap}); retry shortly", retry_after=RETRY_AFTER
            ) from exc

    async def hold(self, account: Limited, capability: Capability) -> SlotClaim:
        """A slot counted without any check (work already under way). Never refused, never raises:
        when Redis does not answer, the renewals add it once it is back."""
        try:
            return await self._run(account.id, capability, [0, 0, 0, self._ttl_ms, "hold"])
        except DOWN as exc:
            lease_id, held = self._lease(account.id, capability)
            self._held[lease_id] = held
            log.warning("slot_hold_deferred", account=account.id, error=type(exc).__name__)
            return SlotClaim(lease_id, granted=True, held=None, until=0.0)

    async def release(self, lease_id: str, *, made: int) -> None:
        """Free a slot and count its successes. Never raises: a slot Redis does not hear of expires."""
        held = self._held.pop(lease_id, None)
        if held is None:
            return
        head = f"{self._replica}\t{held.account_id}\t{held.capability.value}\t"
        try:
            await self._scripts().release(
                keys=[held.slots, held.made, self._key("slots")], args=[lease_id, made, head]
            )
        except DOWN as exc:
            log.warning("slot_release_lost", account=held.account_id, error=type(exc).__name__)

    async def run(self) -> None:
        """Renew this replica's leases every ``ttl / 3`` and hear other replicas' releases, until
        cancelled; an unreachable Redis is logged and tried again at the next round."""
        self._listener.start()
        try:
            while True:
                await asyncio.sleep(self._ttl_ms / 3000)
                try:
                    await self.renew()
                except DOWN as exc:
                    log.warning("slot_renewal_failed", leases=len(self._held), error=type(exc).__name__)
        finally:
            await self._listener.stop()

    async def renew(self) -> int:
        """Extend every lease this replica holds (one script); those Redis lost (a restart, an outage
        longer than the TTL) are added again. Returns how many were renewed."""
        leases = list(self._held.items())
        if not leases:
            return 0
        scripts = self._scripts()
        missing = await scripts.renew(
            keys=[h.slots for _, h in leases], args=[self._ttl_ms, *(lease_id for lease_id, _ in leases)]
        )
        for position in missing:
            lease_id, held = leases[int(position) - 1]
            if lease_id in self._held:  # not freed meanwhile
                await scripts.claim(
                    keys=[held.slots, held.rate, held.made], args=[lease_id, 0, 0, 0, self._ttl_ms, "hold"]
                )
        return len(leases)

    async def count(self, account_id: str, capability: Capability) -> int:
        """Leases on ``account_id`` for ``capability`` that every replica holds now (unexpired)."""
        slots = self._key("slots", account_id, capability.value)
        try:
            return int(await self._client().zcount(slots, f"({int(time.time() * 1000)}", "+inf"))
        except DOWN as exc:
            raise StoreUnavailableError(
                "the shared slot ledger is unavailable; retry shortly", retry_after=RETRY_AFTER
            ) from exc

    async def subscribed(self, times: int = 1) -> None:
        """Wait until this replica hears other replicas' releases (``times``: again after an outage)."""
        await self._listener.subscribed(times)

    async def _run(self, account_id: str, capability: Capability, args: list[int | str]) -> SlotClaim:
        lease_id, lease = self._lease(account_id, capability)
        keys = [lease.slots, lease.rate, lease.made]
        granted, held, until = await self._scripts().claim(keys=keys, args=[lease_id, *args])
        if not granted:
            return SlotClaim(lease_id, granted=False, held=int(held), until=int(until) / 1000)
        self._held[lease_id] = lease
        return SlotClaim(lease_id, granted=True, held=int(held), until=0.0)

    def _lease(self, account_id: str, capability: Capability) -> tuple[str, _Held]:
        """A new lease id and its keys (``made`` is a prefix: the script appends the day number)."""
        cap = capability.value
        return f"{self._replica}:{next(self._ids)}", _Held(
            slots=self._key("slots", account_id, cap),
            rate=self._key("rate", account_id),
            made=self._key("made", account_id, cap, ""),
            account_id=account_id,
            capability=capability,
        )

    def _heard(self, message: bytes) -> None:
        replica, account_id, capability, held = as_text(message).split("\t")
        if replica != self._replica and capability in _CAPABILITIES:
            self._freed(account_id, Capability(capability), int(held))

    def _scripts(self) -> SlotScripts:
        """The scripts, bound to the store's client (again after the store reopened)."""
        client = self._client()
        scripts = self._bound
        if scripts is None or scripts.client is not client:
            scripts = self._bound = SlotScripts.register(client)
        return scripts


_CAPABILITIES = frozenset(c.value for c in Capability)
