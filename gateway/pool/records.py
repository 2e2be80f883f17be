"""Views and records of accounts: the read-only snapshot admin and metrics see, and the runtime
state the store keeps (and puts back after a restart). Pure conversions, no pool logic."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from gateway.domain import AccountKind, AccountRecord, Tier
from gateway.pool import policy
from gateway.pool.account import Account, Usage
from gateway.pool.policy import AccountState


@dataclass(frozen=True, slots=True)
class AccountView:
    """A read-only snapshot of one account, for metrics and admin listings (no secrets)."""

    id: str
    label: str
    kind: str
    state: str
    reason: str
    since: float
    tier: str | None
    credits: int | None
    cooldown_until: float
    inflight: dict[str, int]
    limits: dict[str, int]
    groups: tuple[str, ...]
    weight: float = 1.0
    rpm: int = 0
    daily: dict[str, int] = field(default_factory=dict)
    usage: dict[str, object] = field(default_factory=dict)
    refused: dict[str, float] = field(default_factory=dict)
    models: tuple[str, ...] | None = None
    catalogue_problems: tuple[str, ...] = ()
    email: str = ""
    source: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


def record_of(account: Account) -> AccountRecord:
    """What the store keeps of an account's runtime state."""
    h, u = account.health, account.usage
    return AccountRecord(
        account.id,
        h.state.value,
        h.reason,
        h.since,
        h.cooldown_until,
        h.rate_limit_streak,
        h.auth_failures,
        h.consecutive_failures,
        account.tier.value if account.tier else None,
        account.credits,
        account.email,
        account.info_at,
        u.day,
        u.images_today,
        u.videos_today,
        u.failures_today,
        u.credits_today,
        u.images_total,
        u.videos_total,
        u.failures_total,
        u.captcha_refusals,
        u.last_error,
        u.last_error_at,
        tuple(sorted(account.refused.items())),
    )


def apply_record(account: Account, record: AccountRecord) -> None:
    """Put saved runtime state back on an account."""
    account.health = policy.Health(
        AccountState(record.state),
        record.reason,
        record.since,
        record.cooldown_until,
        record.rate_limit_streak,
        record.auth_failures,
        record.consecutive_failures,
    )
    account.tier = Tier(record.tier) if record.tier else account.declared_tier
    account.credits, account.email, account.info_at = record.credits, record.email, record.info_at
    account.usage = Usage(
        record.day,
        record.images_today,
        record.videos_today,
        record.failures_today,
        record.credits_today,
        record.images_total,
        record.videos_total,
        record.failures_total,
        record.captcha_refusals,
        record.last_error,
        record.last_error_at,
    )
    account.refused = dict(record.refused)


def view_of(account: Account, now: float) -> AccountView:
    """The read-only view of one account at ``now``."""
    health = account.health
    state = health.state
    if state is AccountState.COOLING_DOWN and health.cooldown_until <= now:
        state = AccountState.ACTIVE
    account.usage.roll(now)
    return AccountView(
        id=account.id,
        label=account.label,
        kind=account.kind.value,
        state=state.value,
        reason=health.reason if state is not AccountState.ACTIVE else "",
        since=health.since,
        tier=account.tier.label if account.tier else None,
        credits=account.credits,
        cooldown_until=health.cooldown_until if health.cooldown_until > now else 0.0,
        inflight={c.value: n for c, n in account.inflight.items()},
        limits={c.value: n for c, n in account.limits.items()},
        groups=tuple(sorted(account.groups)),
        weight=account.weight,
        rpm=account.rpm,
        daily={c.value: n for c, n in account.daily.items() if n},
        usage=asdict(account.usage),
        refused={f: until for f, until in account.refused.items() if until > now},
        models=account.models if account.offers is not None and account.kind is AccountKind.WORKER else None,
        catalogue_problems=account.problems,
        email=account.email,
        source=account.source,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


# States that belong to one replica: its worker connection, its own verification in progress.
_LOCAL_STATES = frozenset({AccountState.NEEDS_WORKER.value, AccountState.REFRESHING.value})


def with_shared(account: Account, record: AccountRecord) -> bool:
    """Apply what another replica saw of ``account`` (its just-written ``record``) where it is newer:
    health (a later ``since``), refused features (the later end), what Flow reported (a later
    ``info_at``). Usage and in-flight counts stay each replica's own. True when anything changed."""
    changed = False
    local = {AccountState.NEEDS_WORKER, AccountState.REFRESHING}
    if (
        record.since > account.health.since
        and record.state not in _LOCAL_STATES
        and account.health.state not in local
    ):
        account.health = policy.Health(
            AccountState(record.state),
            record.reason,
            record.since,
            record.cooldown_until,
            record.rate_limit_streak,
            record.auth_failures,
            record.consecutive_failures,
        )
        changed = True
    for feature, until in record.refused:
        if until > account.refused.get(feature, 0.0):
            account.refused[feature] = until
            changed = True
    if record.info_at > account.info_at:
        account.tier = Tier(record.tier) if record.tier else account.tier
        account.credits, account.email, account.info_at = record.credits, record.email, record.info_at
        changed = True
    return changed
