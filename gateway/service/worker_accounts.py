"""Worker-announced accounts in the pool: added when a worker says ``hello``, waiting (not failing)
while no worker serves them, back when one does."""

from __future__ import annotations

from gateway.config import WorkerSettings
from gateway.domain import AccountKind, Capability, Secret, Tier
from gateway.pool.account import Account, worker_account_id
from gateway.pool.pool import AccountPool
from gateway.upstream.flow.workers import AnnouncedAccount

TIER_NAMES = {"free": Tier.FREE, "pro": Tier.PRO, "ultra": Tier.ULTRA, **{t.value: t for t in Tier}}


class WorkerAccounts:
    """The hub's account listener, and the declared tier of each worker account."""

    def __init__(self, pool: AccountPool, settings: WorkerSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._tiers: dict[str, Tier] = {}

    async def __call__(self, account: AnnouncedAccount, *, reachable: bool, reason: str) -> None:
        """Add the account on first sight; mark it reachable or waiting for its worker."""
        tier = TIER_NAMES.get(account.tier, TIER_NAMES[self._settings.default_tier])
        self._tiers[account.key] = tier
        added = self._pool.add(
            Account(
                id=worker_account_id(account.key),
                label=account.key,
                session_token=Secret(""),
                kind=AccountKind.WORKER,
                worker_key=account.key,
                groups=frozenset(account.groups),
                limits={
                    Capability.IMAGE: self._settings.image_concurrency,
                    Capability.VIDEO: self._settings.video_concurrency,
                },
                tier=tier,
            )
        )
        added.tier = tier
        await self._pool.set_reachable(added.id, reachable=reachable, reason=reason)

    def tier_of(self, account_key: str) -> Tier:
        """The tier declared for a worker account (the configured default when it declared none)."""
        return self._tiers.get(account_key, TIER_NAMES[self._settings.default_tier])
