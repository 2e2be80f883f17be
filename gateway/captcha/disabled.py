"""The provider used when no solver is configured: every generation attempt fails cleanly."""

from __future__ import annotations

from gateway.domain import CaptchaAction, CaptchaFailedError, CaptchaToken


class DisabledCaptcha:
    """Refuses to mint: REST generation needs a solver (``[captcha] provider``)."""

    name = "none"

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        """Always fails, without retry."""
        raise CaptchaFailedError(
            "no captcha solver is configured ([captcha] provider = 'none')", retryable=False
        )
