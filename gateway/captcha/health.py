"""What the operator needs to know about the captcha solver: is it answering, and since when not.

``TrackedTokens`` wraps the gateway's token source and remembers the outcome of the last solves
(a bounded window, nothing per request kept beyond it), so ``/admin/health`` can say "the solver
failed its last 5 solves, the last at 12:03, with: solver gave no token within 60s" without a
Prometheus query. Metrics keep the full history; this is the glance.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gateway.captcha.prefetch import Solver
from gateway.domain import CaptchaAction, CaptchaFailedError, CaptchaToken

WINDOW = 20  # the solves a health verdict looks at
FAILING_AFTER = 5  # consecutive failures that make the solver "failing"


@dataclass(frozen=True, slots=True)
class SolverHealth:
    """The recent solves of the captcha solver."""

    provider: str
    state: str  # "ok", "failing", "idle" (no solve yet), or "disabled"
    recent_ok: int
    recent_failed: int
    consecutive_failures: int
    last_ok_at: float
    last_failure_at: float
    last_error: str
    ready: int  # tokens solved ahead and ready (0 without prefetch)


class TrackedTokens:
    """A token source that remembers how its last solves went."""

    def __init__(
        self,
        inner: Solver,
        *,
        ready: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = inner.name
        self._inner = inner
        self._ready = ready
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=WINDOW)
        self._consecutive = 0
        self._last_ok = 0.0
        self._last_failure = 0.0
        self._last_error = ""

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        """The inner source's token; its outcome noted."""
        try:
            token = await self._inner.solve(action=action, website_url=website_url)
        except CaptchaFailedError as exc:
            self._outcomes.append(False)
            self._consecutive += 1
            self._last_failure, self._last_error = self._clock(), str(exc)
            raise
        self._outcomes.append(True)
        self._consecutive, self._last_ok = 0, self._clock()
        return token

    def health(self) -> SolverHealth:
        """The verdict over the last ``WINDOW`` solves."""
        ok = sum(self._outcomes)
        if self.name == "none":
            state = "disabled"
        elif not self._outcomes:
            state = "idle"
        else:
            state = "failing" if self._consecutive >= FAILING_AFTER else "ok"
        return SolverHealth(
            provider=self.name,
            state=state,
            recent_ok=ok,
            recent_failed=len(self._outcomes) - ok,
            consecutive_failures=self._consecutive,
            last_ok_at=self._last_ok,
            last_failure_at=self._last_failure,
            last_error=self._last_error,
            ready=self._ready(),
        )
