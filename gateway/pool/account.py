"""An account as the pool manages it: identity, credentials, limits, what Flow told us, health."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from gateway.domain import AccountKind, Capability, Secret, Tier
from gateway.pool.policy import Health


def account_id_for(session_token: str) -> str:
    """A stable short id derived from the credential, safe to log (12 hex chars of SHA-256)."""
    return "acc_" + hashlib.sha256(session_token.encode()).hexdigest()[:12]


def worker_account_id(account_key: str) -> str:
    """The id of an account a browser worker serves, from the key the worker announces."""
    return "wrk_" + hashlib.sha256(account_key.encode()).hexdigest()[:12]


@dataclass(slots=True)
class Account:
    """One Flow account in the pool; mutated only by the pool."""

    id: str
    label: str
    session_token: Secret
    kind: AccountKind = AccountKind.REST
    proxy: str | None = None
    worker_key: str = ""
    groups: frozenset[str] = frozenset()
    weight: float = 1.0
    limits: dict[Capability, int] = field(default_factory=lambda: {Capability.IMAGE: 4, Capability.VIDEO: 2})
    tier: Tier | None = None
    credits: int | None = None
    email: str = ""
    info_at: float = 0.0
    health: Health = field(default_factory=Health)
    inflight: dict[Capability, int] = field(
        default_factory=lambda: {Capability.IMAGE: 0, Capability.VIDEO: 0}
    )

    def load(self, capability: Capability) -> float:
        """In-flight leases relative to the limit (0 = idle, 1 = full)."""
        limit = self.limits.get(capability, 1)
        return self.inflight[capability] / limit if limit > 0 else 1.0

    def has_room(self, capability: Capability) -> bool:
        """True while in-flight leases are under the limit."""
        return self.inflight[capability] < self.limits.get(capability, 0)
