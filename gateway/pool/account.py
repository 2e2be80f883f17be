"""An account as the pool manages it: identity, credentials, limits, what Flow told us, health, usage."""

from __future__ import annotations

import hashlib
import time
from collections import deque
from dataclasses import dataclass, field

from gateway.domain import AccountKind, Capability, Secret, Tier
from gateway.pool.policy import Health

DAY = 86_400.0
RATE_WINDOW = 60.0
QUOTA = "quota:"  # the key prefix in ``Account.refused`` of a model's spent daily quota


def account_id_for(session_token: str) -> str:
    """A stable short id derived from the credential, safe to log (12 hex chars of SHA-256)."""
    return "acc_" + hashlib.sha256(session_token.encode()).hexdigest()[:12]


def worker_account_id(account_key: str) -> str:
    """The id of an account a browser worker serves, from the key the worker announces."""
    return "wrk_" + hashlib.sha256(account_key.encode()).hexdigest()[:12]


def utc_day(now: float) -> str:
    """The UTC date of ``now`` (daily counters and caps roll over at UTC midnight)."""
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def next_midnight(now: float) -> float:
    """The next UTC midnight after ``now``."""
    return (now // DAY + 1) * DAY


@dataclass(slots=True)
class Usage:
    """What an account did: today (UTC) and since it was added. Today's counters reset with the day."""

    day: str = ""
    images_today: int = 0
    videos_today: int = 0
    failures_today: int = 0
    credits_today: int = 0
    images_total: int = 0
    videos_total: int = 0
    failures_total: int = 0
    captcha_refusals: int = 0
    last_error: str = ""
    last_error_at: float = 0.0

    def roll(self, now: float) -> None:
        """Start a new day's counters when ``now`` is on a later UTC day."""
        day = utc_day(now)
        if day != self.day:
            self.day = day
            self.images_today = self.videos_today = self.failures_today = self.credits_today = 0

    def produced(self, capability: Capability, *, credits: int, now: float) -> None:
        """One successful generation."""
        self.roll(now)
        self.credits_today += credits
        if capability is Capability.IMAGE:
            self.images_today += 1
            self.images_total += 1
        else:
            self.videos_today += 1
            self.videos_total += 1

    def failed(self, error: str, *, now: float) -> None:
        """One failed attempt and the class of its error."""
        self.roll(now)
        self.failures_today += 1
        self.failures_total += 1
        self.last_error, self.last_error_at = error, now

    def today(self, capability: Capability, now: float) -> int:
        """Successful generations of ``capability`` today."""
        if self.day != utc_day(now):
            return 0
        return self.images_today if capability is Capability.IMAGE else self.videos_today


@dataclass(slots=True)
class Account:
    """One Flow account in the pool; mutated only by the pool.

    ``rpm`` bounds leases started per minute (0: no bound); ``daily`` caps successful generations
    per UTC day and capability (0 or absent: no cap). ``refused`` maps a feature Flow refused this
    account to the time until which that is believed (a daily quota of a model as ``quota:<feature>``,
    until UTC midnight). ``offers`` are the tokens of what the account's own Flow catalogue offers
    (None: unknown, so every request may try it), ``models`` the model keys it lists, ``problems``
    what could not be read of it.
    """

    id: str
    label: str
    session_token: Secret
    kind: AccountKind = AccountKind.REST
    proxy: str | None = None
    worker_key: str = ""
    groups: frozenset[str] = frozenset()
    weight: float = 1.0
    limits: dict[Capability, int] = field(default_factory=lambda: {Capability.IMAGE: 4, Capability.VIDEO: 2})
    rpm: int = 0
    daily: dict[Capability, int] = field(default_factory=dict)
    tier: Tier | None = None
    declared_tier: Tier | None = None
    credits: int | None = None
    email: str = ""
    info_at: float = 0.0
    source: str = "config"
    enabled: bool = True
    created_at: float = 0.0
    updated_at: float = 0.0
    health: Health = field(default_factory=Health)
    usage: Usage = field(default_factory=Usage)
    refused: dict[str, float] = field(default_factory=dict)
    offers: frozenset[str] | None = None
    models: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    recent: deque[float] = field(default_factory=deque)
    inflight: dict[Capability, int] = field(
        default_factory=lambda: {Capability.IMAGE: 0, Capability.VIDEO: 0}
    )
    # Leases other replicas hold, as last seen (a hint for picking; the shared ledger decides), and
    # when their rate or daily cap lets the account start again (both stay zero on one machine).
    elsewhere: dict[Capability, int] = field(
        default_factory=lambda: {Capability.IMAGE: 0, Capability.VIDEO: 0}
    )
    held_off: dict[Capability, float] = field(default_factory=dict)

    def load(self, capability: Capability) -> float:
        """In-flight leases relative to the limit (0 = idle, 1 = full)."""
        limit = self.limits.get(capability, 1)
        return (self.inflight[capability] + self.elsewhere[capability]) / limit if limit > 0 else 1.0

    def has_room(self, capability: Capability) -> bool:
        """True while in-flight leases are under the limit (one lease in all while half-open)."""
        if self.health.probing and any(self.inflight.values()):
            return False
        return self.inflight[capability] + self.elsewhere[capability] < self.limits.get(capability, 0)

    def blocked_until(self, capability: Capability, now: float) -> float:
        """When the per-minute rate or the daily cap lets ``capability`` start again (<= now: it may)."""
        until = self.held_off.get(capability, 0.0) if self.held_off else 0.0
        while self.recent and self.recent[0] <= now - RATE_WINDOW:
            self.recent.popleft()
        if self.rpm > 0 and len(self.recent) >= self.rpm:
            until = self.recent[-self.rpm] + RATE_WINDOW
        cap = self.daily.get(capability, 0)
        if cap > 0 and self.usage.today(capability, now) + self.inflight[capability] >= cap:
            until = max(until, next_midnight(now))
        return until

    def note_pick(self, now: float) -> None:
        """Remember a lease start for the per-minute rate."""
        if self.rpm > 0:
            self.recent.append(now)
            while len(self.recent) > self.rpm:
                self.recent.popleft()

    def refuses(self, feature: str, now: float) -> bool:
        """True while Flow is believed to refuse ``feature`` to this account, or its daily quota of it
        is spent."""
        return bool(feature) and (
            self.refused.get(feature, 0.0) > now or self.refused.get(QUOTA + feature, 0.0) > now
        )

    def quota_until(self, feature: str, now: float) -> float:
        """When the account's daily quota of ``feature`` is back (0 when it is not spent)."""
        until = self.refused.get(QUOTA + feature, 0.0)
        return until if until > now else 0.0

    def serves(self, needs: tuple[frozenset[str], ...]) -> bool:
        """True unless the account's catalogue is known and lacks one of ``needs`` (each a set of
        alternatives, one of which must be offered)."""
        offers = self.offers
        return offers is None or all(not offers.isdisjoint(alternatives) for alternatives in needs)
