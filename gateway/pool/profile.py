"""What an account's definition sets on it (label, credentials, limits, groups, declared tier),
as one value the table applies: the service decides the values, the table changes the account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.domain import AccountKind, Capability, Secret, Tier
from gateway.pool.account import Account


@dataclass(frozen=True, slots=True)
class Profile:
    """An account's defined settings (``offers`` None: keep what its catalogue said)."""

    label: str
    kind: AccountKind
    session_token: Secret
    worker_key: str = ""
    groups: frozenset[str] = frozenset()
    weight: float = 1.0
    proxy: str | None = None
    limits: Mapping[Capability, int] = field(default_factory=dict)
    rpm: int = 0
    daily: Mapping[Capability, int] = field(default_factory=dict)
    declared_tier: Tier | None = None
    offers: frozenset[str] | None = None
    source: str = "config"
    enabled: bool = True
    created_at: float = 0.0
    updated_at: float = 0.0


def apply_profile(account: Account, profile: Profile) -> None:
    """The profile's fields onto ``account`` (an account new to the table, or through the table)."""
    account.label, account.kind = profile.label, profile.kind
    account.session_token, account.worker_key = profile.session_token, profile.worker_key
    account.groups, account.weight, account.proxy = profile.groups, profile.weight, profile.proxy
    account.limits = dict(profile.limits)
    account.rpm = profile.rpm
    account.daily = {capability: cap for capability, cap in profile.daily.items() if cap > 0}
    account.declared_tier = profile.declared_tier
    if account.declared_tier is not None and not account.info_at:
        account.tier = account.declared_tier  # until Flow says what it is (then Flow wins)
    if profile.offers is not None:
        account.offers = profile.offers
    account.source, account.enabled = profile.source, profile.enabled
    account.created_at, account.updated_at = profile.created_at, profile.updated_at
