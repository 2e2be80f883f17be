"""The solver's health verdict: idle before any solve, failing after consecutive failures, ok again
after one success, bounded memory."""

from __future__ import annotations

import pytest

from gateway.captcha.health import FAILING_AFTER, WINDOW, TrackedTokens
from gateway.domain import CaptchaAction, CaptchaFailedError, CaptchaToken, Secret


class FlakySolver:
    name = "anticaptcha"

    def __init__(self) -> None:
        self.fail = False

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        if self.fail:
            raise CaptchaFailedError("solver gave no token within 60s")
        return CaptchaToken(Secret("tok"), "ua")


async def test_verdicts_follow_the_last_solves() -> None:
    inner = FlakySolver()
    now = [100.0]
    tracked = TrackedTokens(inner, ready=lambda: 3, clock=lambda: now[0])
    assert tracked.health().state == "idle" and tracked.health().ready == 3
    await tracked.solve(action=CaptchaAction.IMAGE_GENERATION, website_url="u")
    assert tracked.health().state == "ok" and tracked.health().last_ok_at == 100.0
    inner.fail = True
    for i in range(FAILING_AFTER):
        now[0] = 200.0 + i
        with pytest.raises(CaptchaFailedError):
            await tracked.solve(action=CaptchaAction.IMAGE_GENERATION, website_url="u")
        expected = "failing" if i == FAILING_AFTER - 1 else "ok"
        assert tracked.health().state == expected
    health = tracked.health()
    assert health.consecutive_failures == FAILING_AFTER and health.last_error.startswith(
        "solver gave no token"
    )
    assert health.last_failure_at == 200.0 + FAILING_AFTER - 1
    inner.fail = False
    await tracked.solve(action=CaptchaAction.IMAGE_GENERATION, website_url="u")
    assert tracked.health().state == "ok" and tracked.health().consecutive_failures == 0
    for _ in range(WINDOW * 3):
        await tracked.solve(action=CaptchaAction.IMAGE_GENERATION, website_url="u")
    assert tracked.health().recent_ok + tracked.health().recent_failed == WINDOW  # bounded window
