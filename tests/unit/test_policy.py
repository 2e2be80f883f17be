import pytest

from gateway.pool.policy import AccountState, Health, Outcome, Rules, apply, can_serve

RULES = Rules(
    base_cooldown=30,
    max_cooldown=300,
    auth_failures_to_relogin=2,
    transient_cooldown=5,
    max_transient_cooldown=40,
)


def test_rate_limit_uses_retry_after_then_recovers() -> None:
    h = apply(Health(), Outcome.RATE_LIMITED, now=100, retry_after=20, rules=RULES)
    assert h.state is AccountState.COOLING_DOWN
    assert not can_serve(h, 119.9)
    assert can_serve(h, 120)


def test_rate_limit_backoff_doubles_and_caps() -> None:
    h = Health()
    ends = []
    for _ in range(6):
        h = apply(h, Outcome.RATE_LIMITED, now=0, retry_after=None, rules=RULES)
        ends.append(h.cooldown_until)
    assert ends == [30, 60, 120, 240, 300, 300]


def test_success_resets_everything() -> None:
    h = apply(Health(), Outcome.RATE_LIMITED, now=0, retry_after=None, rules=RULES)
    h = apply(h, Outcome.SUCCESS, now=50, retry_after=None, rules=RULES)
    assert h == Health(since=50)


@pytest.mark.parametrize(
    "outcome", [Outcome.CAPTCHA, Outcome.CONTENT, Outcome.CLIENT_ERROR, Outcome.FORBIDDEN]
)
def test_not_the_accounts_fault(outcome: Outcome) -> None:
    assert apply(Health(), outcome, now=0, retry_after=None, rules=RULES) == Health()


def test_auth_failures_lead_to_relogin() -> None:
    h = apply(Health(), Outcome.AUTH_FAILED, now=0, retry_after=None, rules=RULES)
    assert h.state is AccountState.ACTIVE
    h = apply(h, Outcome.AUTH_FAILED, now=1, retry_after=None, rules=RULES)
    assert h.state is AccountState.NEEDS_RELOGIN
    assert not can_serve(h, 10_000)


def test_transient_failures_back_off_and_never_disable() -> None:
    h, now, cooldowns = Health(), 0.0, []
    for _ in range(8):
        h = apply(h, Outcome.TRANSIENT, now=now, retry_after=None, rules=RULES)
        assert h.state is AccountState.COOLING_DOWN and h.probing
        cooldowns.append(h.cooldown_until - now)
        assert not can_serve(h, h.cooldown_until - 0.1) and can_serve(h, h.cooldown_until)
        now = h.cooldown_until
    assert cooldowns == [5, 10, 20, 40, 40, 40, 40, 40]  # doubling, capped: never a permanent state
    h = apply(h, Outcome.SUCCESS, now=now, retry_after=None, rules=RULES)
    assert (h.state, h.consecutive_failures, h.probing) == (AccountState.ACTIVE, 0, False)


def test_quota_means_out_of_credits() -> None:
    h = apply(Health(), Outcome.QUOTA_EXHAUSTED, now=7, retry_after=None, rules=RULES)
    assert (h.state, h.since) == (AccountState.OUT_OF_CREDITS, 7)
    assert not can_serve(h, 1e9)


def test_success_of_an_earlier_lease_keeps_the_cooldown() -> None:
    h = apply(Health(), Outcome.RATE_LIMITED, now=100, retry_after=20, rules=RULES)
    h = apply(h, Outcome.SUCCESS, now=101, retry_after=None, rules=RULES)
    assert h.state is AccountState.COOLING_DOWN and not can_serve(h, 110) and can_serve(h, 120)
