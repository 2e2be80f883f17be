import pytest

from gateway.pool.policy import Outcome
from gateway.service.retry import TABLE, decide
from gateway.upstream.flow import errors as up


@pytest.mark.parametrize(
    ("cls", "outcome", "retry", "elsewhere", "status", "code"),
    [
        (up.UpstreamRateLimitedError, Outcome.RATE_LIMITED, True, True, 429, "rate_limit_exceeded"),
        (up.UpstreamQuotaError, Outcome.QUOTA_EXHAUSTED, True, True, 429, "insufficient_quota"),
        (up.UpstreamCaptchaError, Outcome.CAPTCHA, True, False, 502, "upstream_captcha_failed"),
        (up.UpstreamAuthError, Outcome.AUTH_FAILED, True, True, 503, "no_usable_accounts"),
        (up.UpstreamForbiddenError, Outcome.FORBIDDEN, True, True, 403, "model_not_allowed"),
        (up.UpstreamContentRejectedError, Outcome.CONTENT, False, False, 400, "moderation_blocked"),
        (up.UpstreamInvalidRequestError, Outcome.CLIENT_ERROR, False, False, 502, "upstream_error"),
        (up.UpstreamNotFoundError, Outcome.TRANSIENT, True, True, 502, "upstream_error"),
        (up.UpstreamUnavailableError, Outcome.TRANSIENT, True, True, 502, "upstream_error"),
        (up.UpstreamTimeoutError, Outcome.TRANSIENT, True, True, 504, "upstream_timeout"),
        (up.UpstreamProtocolError, Outcome.CLIENT_ERROR, False, False, 502, "upstream_error"),
        (up.UpstreamOverloadedError, Outcome.OVERLOADED, False, False, 429, "rate_limit_exceeded"),
        (up.UpstreamModelQuotaError, Outcome.MODEL_QUOTA, True, True, 429, "rate_limit_exceeded"),
        (up.UpstreamConcurrencyError, Outcome.CONCURRENCY, True, True, 429, "rate_limit_exceeded"),
        (up.UpstreamInProgressError, Outcome.CLIENT_ERROR, False, False, 503, "generation_in_progress"),
        (up.UpstreamUnconfirmedError, Outcome.TRANSIENT, False, False, 502, "upstream_unconfirmed"),
        (up.UpstreamInputRejectedError, Outcome.CLIENT_ERROR, False, False, 400, "invalid_input"),
        (up.UpstreamFlaggedError, Outcome.FLAGGED, False, False, 502, "upstream_flagged"),
    ],
)
def test_table(
    cls: type[up.UpstreamError], outcome: Outcome, retry: bool, elsewhere: bool, status: int, code: str
) -> None:
    decision = decide(cls("x", endpoint="images.generate"))
    assert (decision.outcome, decision.retry, decision.elsewhere) == (outcome, retry, elsewhere)
    client = decision.to_client(cls("secret-account-detail", endpoint="e"))
    assert (client.status, client.code) == (status, code)
    assert "secret-account-detail" not in client.message


def test_every_upstream_error_class_has_a_row() -> None:
    classes = {c for c in vars(up).values() if isinstance(c, type) and issubclass(c, up.UpstreamError)}
    assert classes - {up.UpstreamError} == set(TABLE)


def test_rate_limit_carries_retry_after_and_quota_says_do_not_retry() -> None:
    limited = decide(up.UpstreamRateLimitedError("x", retry_after=20)).to_client(
        up.UpstreamRateLimitedError("x", retry_after=20)
    )
    assert limited.headers()["retry-after"] == "20"
    assert limited.headers()["retry-after-ms"] == "20000"
    quota = decide(up.UpstreamQuotaError("x")).to_client(up.UpstreamQuotaError("x"))
    assert quota.headers()["x-should-retry"] == "false"


@pytest.mark.parametrize(
    "cls",
    [
        up.UpstreamInProgressError,
        up.UpstreamUnconfirmedError,
        up.UpstreamTimeoutError,
        up.UpstreamWorkerGoneError,
    ],
)
def test_what_may_have_created_a_job_is_never_sent_again(cls: type[up.UpstreamError]) -> None:
    assert decide(cls("x")).resend is False


def test_flagged_and_unconfirmed_tell_sdks_not_to_retry() -> None:
    for cls in (up.UpstreamFlaggedError, up.UpstreamUnconfirmedError):
        assert decide(cls("x")).to_client(cls("x")).headers()["x-should-retry"] == "false"


def test_a_model_quota_is_back_at_utc_midnight() -> None:
    client = decide(up.UpstreamModelQuotaError("x")).to_client(up.UpstreamModelQuotaError("x"))
    assert client.retry_after is not None and 0 < client.retry_after <= 86_400
