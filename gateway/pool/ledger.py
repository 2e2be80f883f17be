"""The slot ledger: where a lease's slot is counted beyond this process, awaited by the pool when
it takes and frees a slot.

On one machine the pool's own counts are the whole truth, so :class:`LocalSlots` grants everything
at once (no I/O, no suspension: an ``await`` on it never yields to the loop). With several replicas
the Redis ledger (``gateway.store.redis_slots``) counts every replica's leases, rate window and
daily successes, and may refuse a slot the local index thought free; it matches the Protocols here
by structure, so the store imports nothing of the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.domain import Capability
from gateway.domain.slots import Limited

# A slot freed on another replica: (account id, capability, leases held there after, every replica).
FreedListener = Callable[[str, Capability, int], None]


class Claim(Protocol):
    """A ledger's answer to a claim."""

    @property
    def lease_id(self) -> str:
        """The slot's id in the ledger (what ``release`` frees)."""
        ...

    @property
    def granted(self) -> bool:
        """True when the slot is held."""
        ...

    @property
    def held(self) -> int | None:
        """Leases on the account's capability, every replica, after the claim (None: not known)."""
        ...

    @property
    def until(self) -> float:
        """Refused by the rate or the daily cap: when the account may start again (else 0)."""
        ...


class SlotLedger(Protocol):
    """Counts slots across replicas; the pool's index has already counted them locally."""

    async def claim(self, account: Limited, capability: Capability) -> Claim:
        """Take a slot if the account's limits allow it, every replica counted."""
        ...

    async def hold(self, account: Limited, capability: Capability) -> Claim:
        """Count a slot without checking limits (work already under way there)."""
        ...

    async def release(self, lease_id: str, *, made: int) -> None:
        """Free a slot; ``made`` successes count towards the daily cap. Never raises: a slot that
        cannot be freed now expires by itself."""
        ...

    def on_freed(self, listener: FreedListener) -> None:
        """Call ``listener`` when another replica frees a slot."""
        ...

    async def run(self) -> None:
        """The ledger's background work (renewing leases, hearing other replicas) until cancelled."""
        ...


@dataclass(frozen=True, slots=True)
class Granted:
    """A claim the local ledger grants (the pool's counts are the whole truth)."""

    lease_id: str = ""
    granted: bool = True
    held: int | None = None
    until: float = 0.0


GRANTED = Granted()


class LocalSlots:
    """One process: every claim granted at once, nothing to free, nobody else to hear from."""

    async def claim(self, account: Limited, capability: Capability) -> Claim:
        """Granted: the index only picks accounts with room."""
        del account, capability
        return GRANTED

    async def hold(self, account: Limited, capability: Capability) -> Claim:
        """Granted."""
        del account, capability
        return GRANTED

    async def release(self, lease_id: str, *, made: int) -> None:
        """Nothing to free beyond the pool's own count."""
        del lease_id, made

    def on_freed(self, listener: FreedListener) -> None:
        """No other replica."""
        del listener

    async def run(self) -> None:
        """Nothing runs in the background: returns at once."""
