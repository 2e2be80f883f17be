"""What this replica last saw of other replicas' leases on its accounts: a hint for picking.

The shared slot ledger decides; this mirror only keeps the local index from picking an account
that the ledger just said is full (or held off by its rate or daily cap), so a pick costs no round
trip when the answer is known. What it saw is trusted for ``TTL`` seconds only: a replica that
dies frees its slots by expiry, without a word, and the mirror forgets them in time. Owned by the
``AccountTable`` (it changes ``Account.elsewhere`` and ``held_off``, and re-indexes through it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.domain import Capability
from gateway.pool.account import Account

TTL = 1.0  # seconds: waiters look again at least this often while the mirror says "busy elsewhere"
Reindex = Callable[[Account, Capability | None], None]


class Mirror:
    """Other replicas' leases per account and capability, as last seen, until they expire."""

    def __init__(self, reindex: Reindex, *, clock: Callable[[], float] = time.time, ttl: float = TTL) -> None:
        self._reindex, self._clock, self._ttl = reindex, clock, ttl
        self._seen: dict[str, tuple[Account, float]] = {}  # account id -> (account, trusted until)

    def __len__(self) -> int:
        return len(self._seen)

    def held(self, account: Account, capability: Capability, everywhere: int) -> None:
        """The ledger counts ``everywhere`` leases on ``account`` for ``capability``, ours included."""
        elsewhere = max(0, everywhere - account.inflight[capability])
        if elsewhere:
            self._seen[account.id] = (account, self._clock() + self._ttl)
        if elsewhere != account.elsewhere[capability]:
            account.elsewhere[capability] = elsewhere
            self._reindex(account, capability)

    def hold_off(self, account: Account, capability: Capability, until: float) -> None:
        """The ledger refused ``account`` by its rate or daily cap until ``until``."""
        if until > account.held_off.get(capability, 0.0):
            account.held_off[capability] = until
            self._reindex(account, None)

    def expire(self) -> bool:
        """Forget what is no longer trusted; True when an account may have room again."""
        if not self._seen:
            return False
        now = self._clock()
        stale = [account for account, until in self._seen.values() if until <= now]
        for account in stale:
            del self._seen[account.id]
            for capability, count in account.elsewhere.items():
                if count:
                    account.elsewhere[capability] = 0
                    self._reindex(account, capability)
        return bool(stale)

    def next_expiry(self) -> float | None:
        """Seconds until the soonest entry expires (None: nothing mirrored)."""
        if not self._seen:
            return None
        return max(0.0, min(until for _, until in self._seen.values()) - self._clock())

    def forget(self, account_id: str) -> None:
        """An account left the table."""
        self._seen.pop(account_id, None)
