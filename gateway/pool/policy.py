"""Pure rules: how an outcome changes an account's health, and when an account may serve.

No clock, no I/O: ``now`` is an argument, so every rule is table-tested with plain numbers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class AccountState(enum.StrEnum):
    """Where an account stands; every state but ACTIVE carries a reason and a timestamp."""

    ACTIVE = "active"
    COOLING_DOWN = "cooling_down"
    REFRESHING = "refreshing"
    NEEDS_RELOGIN = "needs_relogin"
    OUT_OF_CREDITS = "out_of_credits"
    NEEDS_WORKER = "needs_worker"
    DISABLED = "disabled"


# The states in which an account takes leases (a cooling one again once its cooldown has passed).
SERVING = frozenset({AccountState.ACTIVE, AccountState.COOLING_DOWN})


class Outcome(enum.StrEnum):
    """What happened on a leased account (reported by the service)."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    AUTH_FAILED = "auth_failed"
    FORBIDDEN = "forbidden"
    CAPTCHA = "captcha"
    CONTENT = "content"
    TRANSIENT = "transient"
    CLIENT_ERROR = "client_error"
    MIGRATED = "migrated"
    UNREACHABLE = "unreachable"
    FLAGGED = "flagged"
    MODEL_QUOTA = "model_quota"
    CONCURRENCY = "concurrency"
    OVERLOADED = "overloaded"


@dataclass(frozen=True, slots=True)
class Rules:
    """Tunable numbers of the policy."""

    base_cooldown: float = 30.0
    max_cooldown: float = 900.0
    auth_failures_to_relogin: int = 2
    transient_cooldown: float = 5.0
    max_transient_cooldown: float = 300.0
    refusal_ttl: float = 6 * 3600.0
    flagged_pause: float = 1800.0


@dataclass(frozen=True, slots=True)
class Health:
    """An account's health at one moment."""

    state: AccountState = AccountState.ACTIVE
    reason: str = ""
    since: float = 0.0
    cooldown_until: float = 0.0
    rate_limit_streak: int = 0
    auth_failures: int = 0
    consecutive_failures: int = 0

    @property
    def probing(self) -> bool:
        """Half-open: after transient failures the account serves one request at a time until one
        succeeds."""
        return self.consecutive_failures > 0


def can_serve(health: Health, now: float) -> bool:
    """True when the account may take a new lease now."""
    if health.state is AccountState.ACTIVE:
        return health.cooldown_until <= now
    return health.state is AccountState.COOLING_DOWN and health.cooldown_until <= now


def apply(health: Health, outcome: Outcome, *, now: float, retry_after: float | None, rules: Rules) -> Health:
    """The account's health after ``outcome``."""
    if outcome is Outcome.SUCCESS:
        if health.cooldown_until > now:
            # A lease taken before the cooldown finished well; the cooldown still stands.
            return replace(health, auth_failures=0, consecutive_failures=0)
        return Health(since=now if health.state is not AccountState.ACTIVE else health.since)
    if outcome in {
        Outcome.CAPTCHA,
        Outcome.CONTENT,
        Outcome.CLIENT_ERROR,
        Outcome.FORBIDDEN,
        Outcome.UNREACHABLE,
        Outcome.MODEL_QUOTA,
        Outcome.CONCURRENCY,
        Outcome.OVERLOADED,
    }:
        # Not the account's health: FORBIDDEN and MODEL_QUOTA are per feature, CONCURRENCY lowers a
        # limit and OVERLOADED pauses a feature pool-wide (the pool applies those).
        return health
    if outcome is Outcome.FLAGGED:
        return replace(
            health,
            state=AccountState.COOLING_DOWN,
            reason="Flow flagged unusual activity on this account",
            since=now,
            cooldown_until=max(health.cooldown_until, now + rules.flagged_pause),
        )
    if outcome is Outcome.RATE_LIMITED:
        return _cool(health, now=now, retry_after=retry_after, rules=rules)
    if outcome is Outcome.QUOTA_EXHAUSTED:
        return replace(health, state=AccountState.OUT_OF_CREDITS, reason="credits exhausted", since=now)
    if outcome is Outcome.AUTH_FAILED:
        return _auth_failed(health, now=now, rules=rules)
    if outcome is Outcome.MIGRATED:
        return replace(
            health,
            state=AccountState.NEEDS_WORKER,
            since=now,
            reason="labs.google sends this account to flow.google.com: serve it through a browser worker",
        )
    return _transient(health, now=now, rules=rules)


def _cool(health: Health, *, now: float, retry_after: float | None, rules: Rules) -> Health:
    streak = health.rate_limit_streak + 1
    backoff = min(rules.max_cooldown, rules.base_cooldown * 2 ** (streak - 1))
    seconds = retry_after if retry_after is not None and retry_after > 0 else backoff
    return replace(
        health,
        state=AccountState.COOLING_DOWN,
        reason="rate limited upstream",
        since=now,
        cooldown_until=now + seconds,
        rate_limit_streak=streak,
    )


def _auth_failed(health: Health, *, now: float, rules: Rules) -> Health:
    failures = health.auth_failures + 1
    if failures >= rules.auth_failures_to_relogin:
        return replace(
            health,
            state=AccountState.NEEDS_RELOGIN,
            reason="session rejected",
            since=now,
            auth_failures=failures,
        )
    return replace(health, auth_failures=failures)


def _transient(health: Health, *, now: float, rules: Rules) -> Health:
    """A 5xx, a timeout, a reset: the account cools down, the longer the more failures in a row
    (``transient_cooldown`` doubling up to ``max_transient_cooldown``), and is then tried by one
    request at a time until one succeeds (half-open, see ``Account.has_room``). Never a permanent
    state: a short upstream blip must not take accounts out for good."""
    failures = health.consecutive_failures + 1
    seconds = min(rules.max_transient_cooldown, rules.transient_cooldown * 2 ** (failures - 1))
    return replace(
        health,
        state=AccountState.COOLING_DOWN,
        reason="upstream failures",
        since=now,
        consecutive_failures=failures,
        cooldown_until=max(health.cooldown_until, now + seconds),
    )
