"""Telling an upstream incident from a bad account: most accounts failing together.

One account's 5xx or timeout cools that account (``policy``). When, within ``window`` seconds, half
of the serving accounts (at least two) have failed that way and no account succeeded since, the
trouble is Flow's, not theirs: the whole pool backs off (``base`` seconds, doubling while it lasts,
up to ``cap``) instead of condemning accounts one by one, and requests get a 503 saying so with the
true time to retry. The first success ends it. Pure: no clock of its own, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class IncidentWatch:
    """Failing accounts in the recent window, and the incident they add up to (if any)."""

    window: float = 60.0
    share: float = 0.5
    base: float = 5.0
    cap: float = 120.0
    since: float = 0.0
    until: float = 0.0
    streak: int = 0
    failing: dict[str, float] = field(default_factory=dict)

    def failed(self, account_id: str, *, now: float, serving: int) -> bool:
        """An account failed transiently; True when that starts (or extends) an incident."""
        self.failing[account_id] = now
        for key in [k for k, at in self.failing.items() if at < now - self.window]:
            del self.failing[key]
        if len(self.failing) < max(2, math.ceil(self.share * serving)):
            return False
        if self.until <= now:  # a new incident, or the same one failing its probe again
            self.streak += 1
            self.since = self.since or now
            self.until = now + min(self.cap, self.base * 2 ** (self.streak - 1))
        return True

    def succeeded(self, account_id: str) -> bool:
        """An account succeeded; True when that ends an incident. Any success also clears the failures
        seen so far: failures that successes interleave are sporadic, not Flow failing together."""
        del account_id
        ended = bool(self.streak)
        self.since, self.until, self.streak = 0.0, 0.0, 0
        self.failing.clear()
        return ended

    def active(self, now: float) -> bool:
        """True while the pool backs off."""
        return self.until > now
