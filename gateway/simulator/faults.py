"""Injected failures: scripted (the next N calls) or random (a rate), per route, optionally per account.

Route names (also the stats names): auth.session, project.create, project.delete, warmup,
media.redirect, credits, app.check, upload, images.generate, images.upsample, video.submit,
video.status, media.get, cdn.image, cdn.video, captcha.create, captcha.result, and on
flow.google.com page.project, page.about, recaptcha.mint and ``batch.<rpcid>``.

This module decides *which* fault fires and what Google error it is; the call wrapper
(``call.py``) acts it out. Some kinds are played by the handler instead of failing the call:

- ``video_failed`` makes the video job a submit creates end FAILED with the rule's ``reason`` (a
  ``PUBLIC_ERROR_*`` string, ``PUBLIC_ERROR_AUDIO_FILTERED`` by default); its ``code`` is the state
  flow.google.com records report, 4 (default) or 7; ``video_cancelled`` makes the job end cancelled
  (state 5); ``video_stuck`` keeps it ACTIVE forever;
- ``partial_batch`` (``batch.ogiZ0b`` only) answers one image row fewer than asked, with no error, as
  Flow sometimes does (3 of 4); a one-row call is answered in full.

``public_error`` answers Flow's error status with a ``reason`` of the PublicAitkError enum (required),
in a ``form`` (``string`` = ErrorInfo, the default; ``int`` or ``base64`` = PublicAitkError) and with
a grpc ``code`` (by default the one the reason comes with, see ``reasons.default_code``). ``hang``
raises :class:`HangError`, which the wrapper turns into a wait that ends when the client gives up or
the simulator shuts down.

Wire kinds break the HTTP exchange itself, on any route (``batch.<rpcid>`` included: they are not
frames); the wrapper plays them (``wire.py``):

- ``truncate``: the handler runs (its side effects happen: a submit creates its job), its status and
  headers go out with the full ``Content-Length`` and half its body, then the connection is closed;
- ``reset``: the connection is reset (RST) before any byte of a response; the handler does not run;
- ``garbage``: the handler runs, then status 200 with its ``Content-Type`` and a body of random bytes
  (from the seeded dice, never JSON, never an image) instead of its answer;
- ``slow_body``: the handler's answer, its body trickling in chunks of ``SLOW_CHUNK`` bytes with
  ``delay`` seconds (default 1) before each; it stops when the client leaves or the simulator shuts
  down (the connection is then closed mid-body);
- ``cdn_error_page`` (``cdn.image`` and ``cdn.video`` only): status 200, ``Content-Type: text/html``
  and an HTML error page, as a CDN answers when its origin fails; the handler does not run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.simulator.errors import GoogleError, grpc_error, invalid, quota_exceeded, unauthenticated
from gateway.simulator.reasons import FORMS, PUBLIC_ERRORS, default_code

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
    "video_cancelled",
    "video_stuck",
    "public_error",
    "partial_batch",
    "truncate",
    "reset",
    "garbage",
    "slow_body",
    "cdn_error_page",
)
# Kinds the submit handlers play on the job they create instead of failing the call.
JOB_KINDS = frozenset({"video_failed", "video_cancelled", "video_stuck"})
# Kinds a handler plays on its answer (the job kinds, and the short image batch).
PLAYED_KINDS = JOB_KINDS | {"partial_batch"}
PARTIAL_ROUTE = "batch.ogiZ0b"
# Kinds that break the HTTP exchange itself, played by the wrapper on any route (``wire.py``).
WIRE_KINDS = frozenset({"truncate", "reset", "garbage", "slow_body", "cdn_error_page"})
CDN_ROUTES = ("cdn.image", "cdn.video")
DEFAULT_SLOW_DELAY = 1.0
DEFAULT_FAILURE_REASON = "PUBLIC_ERROR_AUDIO_FILTERED"
FAILED_STATES = (4, 7)
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
    form: str | None = None
    code: int | None = None
    delay: float | None = None

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
            "form": self.form,
            "code": self.code,
            "delay": self.delay,
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
        form: str | None = None,
        code: int | None = None,
        delay: float | None = None,
    ) -> Fault:
        """Add a rule: the next ``count`` calls (scripted) or each call with probability ``rate``.

        ``account`` restricts it to one account, named by session token or e-mail. ``reason`` is the
        ``PUBLIC_ERROR_*`` a ``video_failed`` job reports or a ``public_error`` answers; ``form`` how a
        ``public_error`` carries it; ``code`` the ``public_error``'s grpc code or the ``video_failed``
        job's state (4 or 7); ``delay`` the seconds before each chunk of a ``slow_body``. Each is
        refused with a kind it means nothing to (ValueError). Defaults are stored, so ``describe()``
        shows what the fault will answer.
        """
        self._check(route, kind, count=count, rate=rate)
        _check_reason(kind, reason)
        _check_form_and_code(kind, form, code)
        _check_delay(kind, delay)
        if kind == "slow_body" and delay is None:
            delay = DEFAULT_SLOW_DELAY
        if kind == "video_failed":
            reason, code = reason or DEFAULT_FAILURE_REASON, code or FAILED_STATES[0]
        if kind == "public_error":
            assert reason is not None  # _check_reason requires it
            form, code = form or FORMS[0], code or default_code(reason)
        fault = Fault(
            route,
            kind,
            None if rate is not None else count,
            rate,
            account,
            retry_after,
            reason,
            form,
            code,
            delay,
        )
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
        if kind == "partial_batch" and route != PARTIAL_ROUTE:
            raise ValueError(f"partial_batch only applies to route {PARTIAL_ROUTE!r}")
        if kind == "cdn_error_page" and route not in CDN_ROUTES:
            raise ValueError(f"cdn_error_page only applies to routes {', '.join(CDN_ROUTES)}")

    def noise(self, size: int) -> bytes:
        """``size`` random bytes from the fault dice (a ``garbage`` body): seeded, so reproducible."""
        return self._rng.randbytes(size)

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
    """A reason only means something to ``video_failed`` (any ``PUBLIC_ERROR_*``) and ``public_error``
    (a name of the enum, required)."""
    if kind == "public_error":
        if not isinstance(reason, str) or reason not in PUBLIC_ERRORS:
            raise ValueError(f"public_error needs a reason of the PublicAitkError enum (got {reason!r})")
        return
    if reason is None:
        return
    if kind != "video_failed":
        raise ValueError(
            f"reason is only meaningful with kind 'video_failed' or 'public_error', not {kind!r}"
        )
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        raise ValueError(f"reason must match {_REASON.pattern} (got {reason!r})")


def _check_form_and_code(kind: str, form: object, code: object) -> None:
    """``form`` only with ``public_error``; ``code`` a grpc code there, a failed state on ``video_failed``."""
    if form is not None and (kind != "public_error" or form not in FORMS):
        raise ValueError(f"form is one of {', '.join(FORMS)}, and only with kind 'public_error'")
    if code is None:
        return
    if isinstance(code, int) and not isinstance(code, bool):
        if kind == "public_error" and 1 <= code <= 16:
            return
        if kind == "video_failed" and code in FAILED_STATES:
            return
    raise ValueError("code is a grpc code (1-16) of a public_error, or the state (4 or 7) of a video_failed")


def _check_delay(kind: str, delay: object) -> None:
    """``delay`` only with ``slow_body``: a positive, finite number of seconds."""
    if delay is None:
        return
    if kind != "slow_body":
        raise ValueError(f"delay is only meaningful with kind 'slow_body', not {kind!r}")
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 < delay < float("inf"):
        raise ValueError(f"delay must be a positive number of seconds (got {delay!r})")


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
    if kind == "public_error" and fault.code is not None:
        return grpc_error(fault.code, fault.reason, retry_after=fault.retry_after)
    return GoogleError(500, "INTERNAL", "Internal error encountered.")
