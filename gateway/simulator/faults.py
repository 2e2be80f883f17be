"""Injected failures: scripted (the next N calls) or random (a rate), per route, optionally per account.

Route names (also the stats names): auth.session, project.create, project.delete, warmup,
media.redirect, credits, app.check, upload, images.generate, images.upsample, video.submit,
video.status, media.get, cdn.image, cdn.video, captcha.create, captcha.result, and on
flow.google.com page.project, page.about, recaptcha.mint and ``batch.<rpcid>``.

This module decides *which* fault fires and what Google error it is; the call wrapper
(``call.py``) acts it out. The job kinds do not fail the call; they shape the video job a submit
creates: ``video_failed`` makes it end FAILED with the rule's ``reason`` (a ``PUBLIC_ERROR_*`` string,
``PUBLIC_ERROR_AUDIO_FILTERED`` by default), ``video_stuck`` keeps it ACTIVE forever. ``hang``
raises :class:`HangError`, which the wrapper turns into a wait that ends when the client gives up or
the simulator shuts down.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.simulator.errors import GoogleError, invalid, quota_exceeded, unauthenticated

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
    "video_stuck",
)
# Kinds the submit handlers play on the job they create instead of failing the call.
JOB_KINDS = frozenset({"video_failed", "video_stuck"})
DEFAULT_FAILURE_REASON = "PUBLIC_ERROR_AUDIO_FILTERED"
_REASON = re.compile(r"^PUBLIC_ERROR_[A-Z_]+$")
# Routes named per RPC at call time (batchexecute): any name with this prefix is accepted.
DYNAMIC_PREFIX = "batch."


class HangError(Exception):
    """Raised by a ``hang`` fault: the wrapper holds the call until the client leaves or shutdown."""


@dataclass(slots=True)
class Fault:
    """One injection rule."""

    route: str
    kind: str
    count: int | None = 1
    rate: float | None = None
    account: str | None = None
    retry_after: float | None = None
    reason: str | None = None

    def matches(self, route: str, identities: tuple[str, ...]) -> bool:
        """True when this rule applies to a call of ``route`` by an account known by ``identities``."""
        return self.route == route and (self.account is None or self.account in identities)

    def describe(self) -> dict[str, object]:
        """The rule as JSON-able data."""
        return {
            "route": self.route,
            "kind": self.kind,
            "count": self.count,
            "rate": self.rate,
            "account": self.account,
            "retry_after": self.retry_after,
            "reason": self.reason,
        }


class Faults:
    """The rules in force, consumed in the order they were added."""

    def __init__(self, rng: random.Random, *, routes: Iterable[str] = ()) -> None:
        self._rules: list[Fault] = []
        self._rng = rng
        self._routes = frozenset(routes)

    def add(  # noqa: PLR0913 - keyword-only knobs of one rule
        self,
        *,
        route: str,
        kind: str,
        count: int | None = 1,
        rate: float | None = None,
        account: str | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> Fault:
        """Add a rule: the next ``count`` calls (scripted) or each call with probability ``rate``.

        ``account`` restricts it to one account, named by session token or e-mail. ``reason`` is the
        ``PUBLIC_ERROR_*`` a ``video_failed`` job reports (refused with any other kind).
        """
        self._check(route, kind, count=count, rate=rate)
        _check_reason(kind, reason)
        if kind == "video_failed" and reason is None:
            reason = DEFAULT_FAILURE_REASON  # stored, so describe() shows what the job will report
        fault = Fault(route, kind, None if rate is not None else count, rate, account, retry_after, reason)
        self._rules.append(fault)
        return fault

    def _check(self, route: str, kind: str, *, count: int | None, rate: float | None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if self._routes and route not in self._routes and not route.startswith(DYNAMIC_PREFIX):
            raise ValueError(f"unknown route {route!r}; one of {', '.join(sorted(self._routes))}")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if rate is None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer (or give a rate)")

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


def _check_reason(kind: str, reason: object) -> None:
    """A reason only means something to ``video_failed``, and must look like Flow's ``PUBLIC_ERROR_*``."""
    if reason is None:
        return
    if kind != "video_failed":
        raise ValueError(f"reason is only meaningful with kind 'video_failed', not {kind!r}")
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        raise ValueError(f"reason must match {_REASON.pattern} (got {reason!r})")


async def raise_fault(fault: Fault) -> None:
    """Act out a fault by raising its error (``hang`` raises :class:`HangError` for the wrapper)."""
    if fault.kind == "hang":
        raise HangError(fault.route)
    raise error_for(fault)


def error_for(fault: Fault) -> GoogleError:
    """The Google error a fault answers with (flow-protocol.md §9)."""
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
        return GoogleError(
            503, "UNAVAILABLE", "The service is currently unavailable.", retry_after=fault.retry_after
        )
    if kind == "empty_400":
        return GoogleError(400, "", "")
    if kind == "unauthenticated":
        return unauthenticated()
    if kind == "quota":
        error = quota_exceeded()
        error.retry_after = fault.retry_after
        return error
    return GoogleError(500, "INTERNAL", "Internal error encountered.")
