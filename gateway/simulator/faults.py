"""Injected failures: scripted (the next N calls) or random (a rate), per route, optionally per account.

Route names: auth.session, project.create, credits, upload, images.generate, images.upsample,
video.submit, video.status, media.get, media.redirect, captcha.create, captcha.result.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from gateway.simulator.errors import GoogleError, invalid

KINDS = (
    "rate_limited",
    "recaptcha",
    "unsafe",
    "internal",
    "unavailable",
    "empty_400",
    "unauthenticated",
    "quota",
    "hang",
    "video_failed",
)


@dataclass(slots=True)
class Fault:
    """One injection rule."""

    route: str
    kind: str
    count: int | None = 1
    rate: float | None = None
    account: str | None = None
    retry_after: float | None = None

    def matches(self, route: str, identities: tuple[str, ...]) -> bool:
        """True when this rule applies to a call of ``route`` by an account known by ``identities``."""
        return self.route == route and (self.account is None or self.account in identities)


class Faults:
    """The rules in force, consumed in the order they were added."""

    def __init__(self, rng: random.Random) -> None:
        self._rules: list[Fault] = []
        self._rng = rng

    def add(  # noqa: PLR0913 - keyword-only knobs of one rule
        self,
        *,
        route: str,
        kind: str,
        count: int | None = 1,
        rate: float | None = None,
        account: str | None = None,
        retry_after: float | None = None,
    ) -> Fault:
        """Add a rule: ``count`` calls (scripted) or each call with probability ``rate``."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        fault = Fault(route, kind, None if rate is not None else count, rate, account, retry_after)
        self._rules.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def rules(self) -> list[Fault]:
        """The rules in force."""
        return list(self._rules)

    def take(self, route: str, identities: tuple[str, ...]) -> Fault | None:
        """The rule that fires for this call, if any (a scripted rule is used up by it)."""
        for fault in self._rules:
            if not fault.matches(route, identities):
                continue
            if fault.rate is not None:
                if self._rng.random() < fault.rate:
                    return fault
                continue
            if fault.count is not None and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self._rules.remove(fault)
                return fault
        return None


async def raise_fault(fault: Fault) -> None:
    """Act out a fault (video_failed is handled by the video routes, not here)."""
    if fault.kind == "hang":
        await asyncio.Event().wait()  # until the client gives up and the server cancels the handler
    raise _error_for(fault)


def _error_for(fault: Fault) -> GoogleError:
    kind = fault.kind
    if kind == "rate_limited":
        return GoogleError(
            429,
            "RESOURCE_EXHAUSTED",
            "reCAPTCHA evaluation failed",
            reason="PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC",
            retry_after=fault.retry_after,
        )
    if kind == "recaptcha":
        return GoogleError(
            403, "PERMISSION_DENIED", "reCAPTCHA evaluation failed", reason="PUBLIC_ERROR_UNUSUAL_ACTIVITY"
        )
    if kind == "unsafe":
        return invalid(reason="PUBLIC_ERROR_UNSAFE_GENERATION")
    if kind == "unavailable":
        return GoogleError(503, "UNAVAILABLE", "The service is currently unavailable.")
    if kind == "empty_400":
        return GoogleError(400, "", "")
    if kind == "unauthenticated":
        return GoogleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    if kind == "quota":
        # The real wording for spent credits is unknown (flow-protocol.md open question 8); this is our guess.
        return GoogleError(
            429, "RESOURCE_EXHAUSTED", "Quota exceeded.", reason="PUBLIC_ERROR_USER_QUOTA_EXCEEDED"
        )
    return GoogleError(500, "INTERNAL", "Internal error encountered.")
