"""What the simulator saw: calls per route and account, tokens carried, concurrency, a recent-call log."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call, as logged."""

    route: str
    account: str | None
    status: int
    with_token: bool
    token_present: bool
    at: float

    def describe(self) -> dict[str, object]:
        """The record as JSON-able data."""
        return {
            "route": self.route,
            "account": self.account,
            "status": self.status,
            "with_token": self.with_token,
            "token_present": self.token_present,
            "at": self.at,
        }


class Stats:
    """Counters read by tests and by ``GET /_sim/stats``."""

    def __init__(self, log_size: int = 1000, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._calls: Counter[tuple[str, str | None, bool]] = Counter()
        self._inflight: Counter[str] = Counter()
        self._max_inflight: Counter[str] = Counter()
        self.log: deque[CallRecord] = deque(maxlen=log_size)

    def record(
        self, route: str, account: str | None, *, status: int, with_token: bool, token_present: bool = False
    ) -> None:
        """Count a finished call (``with_token``: it carried a valid token; ``token_present``: any token)."""
        self._calls[(route, account, with_token)] += 1
        self.log.append(
            CallRecord(route, account, status, with_token, token_present or with_token, self._clock())
        )

    def calls(self, route: str, *, account: str | None = None, with_token: bool | None = None) -> int:
        """Calls of ``route``, optionally of one account (e-mail) and/or carrying a valid token."""
        return sum(
            n
            for (r, a, t), n in self._calls.items()
            if r == route and (account is None or a == account) and (with_token is None or t == with_token)
        )

    def enter(self, account: str) -> None:
        """A generation call of ``account`` started."""
        self._inflight[account] += 1
        self._max_inflight[account] = max(self._max_inflight[account], self._inflight[account])

    def leave(self, account: str) -> None:
        """A generation call of ``account`` ended."""
        self._inflight[account] -= 1

    def inflight(self, account: str) -> int:
        """Generation calls of ``account`` in flight now."""
        return self._inflight[account]

    def recent(self, route: str | None = None) -> list[CallRecord]:
        """The recent-call log, oldest first, optionally of one route."""
        return [r for r in self.log if route is None or r.route == route]

    def max_inflight(self, account: str) -> int:
        """The most concurrent generation calls ``account`` ever had."""
        return self._max_inflight[account]

    def snapshot(self) -> dict[str, object]:
        """Everything, as JSON-able data."""
        return {
            "calls": [
                {"route": r, "account": a, "with_token": t, "count": n}
                for (r, a, t), n in self._calls.items()
            ],
            "inflight": dict(self._inflight),
            "max_inflight": dict(self._max_inflight),
            "recent": [r.describe() for r in self.log],
        }

    def reset(self) -> None:
        """Forget everything."""
        self._calls.clear()
        self._inflight.clear()
        self._max_inflight.clear()
        self.log.clear()
