"""Each licence's counters, in this process: requests in the last minute, generations in progress,
and what today and this month hold (reserved and settled), with the check that refuses a demand.

Check and reservation happen in one synchronous call (no ``await`` between them), so on one event
loop they are atomic: fifty parallel requests against a budget for ten admit exactly ten. These are
one process's counters (``book.py``'s ``LocalBook``); replicas on Redis share theirs instead
(``shared.py``), refusing with the same messages (:func:`rate_refused` and its kin). A reservation
is counted against the day and month it was made
in; settling it replaces the reservation with what was spent. Pure: the caller passes the time.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.domain import Kind, LicenceDefinition
from gateway.errors import NoCapacityError, QuotaExceededError
from gateway.service.quota.rules import day_of, month_of

WINDOW = 60.0  # seconds: the requests-per-minute window slides
# A licence at its concurrency limit is told to try again in a few seconds: a slot frees when one
# of its generations ends, which the gateway cannot predict (images take seconds, videos minutes).
BUSY_RETRY = 5.0


@dataclass(frozen=True, slots=True)
class Demand:
    """What one request asks of its licence: ``copies`` generations of ``count`` images (1 for a
    video) at ``credits_each`` per image or video."""

    kind: Kind
    copies: int = 1
    count: int = 1
    credits_each: int = 0

    @property
    def credits(self) -> int:
        """Credits the whole demand may cost."""
        return self.copies * self.count * self.credits_each


@dataclass(slots=True)
class Tally:
    """What a licence used in one day (images and videos delivered or reserved, credits)."""

    images: int = 0
    videos: int = 0
    credits: int = 0

    def add(self, kind: Kind | str, count: int, credits: int) -> None:
        """Count ``count`` images or videos and ``credits`` in (negative: take them out)."""
        if kind == Kind.IMAGE:
            self.images += count
        else:
            self.videos += count
        self.credits += credits


@dataclass(frozen=True, slots=True)
class Hold:
    """One generation's reservation: against which licence, day and month, for how much."""

    licence_id: str
    kind: Kind
    day: str
    month: str
    count: int
    credits: int


@dataclass(frozen=True, slots=True)
class Window:
    """A licence's requests-per-minute state: ``reset`` seconds until one more request is allowed
    (a refusal's ``Retry-After``); ``full_reset`` seconds until the window is empty again, which is
    what OpenAI's ``x-ratelimit-reset-requests`` means ("until the limit resets to its initial
    state")."""

    limit: int
    used: int
    reset: float
    full_reset: float = 0.0

    @property
    def remaining(self) -> int:
        """Requests left in the window."""
        return max(0, self.limit - self.used)

    @property
    def reset_duration(self) -> str:
        """``full_reset`` as OpenAI's ``x-ratelimit-reset-requests`` writes it (Go-style: 12ms, 1s, 6m0s)."""
        if self.full_reset <= 0:
            return "0s"
        if self.full_reset < 1:
            return f"{math.ceil(self.full_reset * 1000)}ms"
        minutes, seconds = divmod(math.ceil(self.full_reset), 60)
        return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


@dataclass(slots=True)
class Counters:
    """Every licence's counters."""

    _days: dict[tuple[str, str], Tally] = field(default_factory=dict)
    _months: dict[tuple[str, str], int] = field(default_factory=dict)
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _holds: dict[str, Hold] = field(default_factory=dict)
    _inflight: Counter[str] = field(default_factory=Counter)
    _today: str = ""

    def admit(self, licence: LicenceDefinition, demand: Demand, ids: Sequence[str], now: float) -> None:
        """Reserve ``demand`` under ``ids`` (one per copy), or raise the 429 that explains why not."""
        day, month = day_of(now), month_of(now)
        self._roll(day)
        self._check_rate(licence, demand, now)
        self._check_caps(licence, demand, day, month)
        if licence.rpm:
            self._recent.setdefault(licence.id, deque()).append(now)
        each = demand.count * demand.credits_each
        for work_id in ids:
            self.hold(work_id, Hold(licence.id, demand.kind, day, month, demand.count, each))

    def hold(self, work_id: str, hold: Hold) -> None:
        """Count a reservation in (at admission, or again at start for unfinished work)."""
        self._holds[work_id] = hold
        self._inflight[hold.licence_id] += 1
        self._day(hold.licence_id, hold.day).add(hold.kind, hold.count, hold.credits)
        self._add_month(hold.licence_id, hold.month, hold.credits)

    def settle(self, work_id: str, *, delivered: int, credits: int) -> Hold | None:
        """Replace a reservation with what was spent (0 and 0: given back); None when unknown."""
        hold = self._holds.pop(work_id, None)
        if hold is None:
            return None
        self._inflight[hold.licence_id] -= 1
        if self._inflight[hold.licence_id] <= 0:
            del self._inflight[hold.licence_id]
        tally = self._days.get((hold.licence_id, hold.day))
        if tally is not None:  # a reservation of a day already past changes nothing checked now
            tally.add(hold.kind, delivered - hold.count, credits - hold.credits)
        self._add_month(hold.licence_id, hold.month, credits - hold.credits)
        return hold

    def spent(self, licence_id: str, day: str, *, images: int, videos: int, credits: int) -> None:
        """Count settled use read back from the store (at start; days before today only count in
        their month)."""
        if day >= self._today:
            tally = self._day(licence_id, day)
            tally.images, tally.videos = tally.images + images, tally.videos + videos
            tally.credits += credits
        self._add_month(licence_id, day[:7], credits)

    def start(self, now: float) -> None:
        """Begin counting at ``now`` (before anything is read back)."""
        self._roll(day_of(now))

    def held(self, work_id: str) -> Hold | None:
        """The reservation of ``work_id``, if it has one."""
        return self._holds.get(work_id)

    def today(self, licence_id: str, now: float) -> Tally:
        """What the licence used today (a copy)."""
        tally = self._days.get((licence_id, day_of(now)), Tally())
        return Tally(tally.images, tally.videos, tally.credits)

    def month(self, licence_id: str, now: float) -> int:
        """Credits the licence used this month (settled and reserved)."""
        return self._months.get((licence_id, month_of(now)), 0)

    def in_progress(self, licence_id: str) -> int:
        """Generations admitted and not settled."""
        return self._inflight.get(licence_id, 0)

    def window(self, licence: LicenceDefinition, now: float) -> Window:
        """The licence's requests-per-minute state at ``now``."""
        recent = self._recent.get(licence.id)
        if recent is None:
            return Window(licence.rpm, 0, 0.0)
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        reset = recent[0] + WINDOW - now if recent and len(recent) >= licence.rpm else 0.0
        full_reset = recent[-1] + WINDOW - now if recent else 0.0
        return Window(licence.rpm, len(recent), max(0.0, reset), max(0.0, full_reset))

    def _check_rate(self, licence: LicenceDefinition, demand: Demand, now: float) -> None:
        if licence.rpm:
            window = self.window(licence, now)
            if window.remaining < 1:
                raise rate_refused(licence.rpm, window.used, window.reset)
        busy = self.in_progress(licence.id)
        if licence.max_concurrency and busy + demand.copies > licence.max_concurrency:
            raise busy_refused(busy, demand.copies, licence.max_concurrency)

    def _check_caps(self, licence: LicenceDefinition, demand: Demand, day: str, month: str) -> None:
        tally = self._days.get((licence.id, day), Tally())
        made = demand.copies * demand.count
        image = demand.kind is Kind.IMAGE
        caps = (
            (licence.daily_images if image else 0, tally.images, made, "daily_images"),
            (0 if image else licence.daily_videos, tally.videos, made, "daily_videos"),
            (licence.daily_credits, tally.credits, demand.credits, "daily_credits"),
            (
                licence.monthly_credits,
                self._months.get((licence.id, month), 0),
                demand.credits,
                "monthly_credits",
            ),
        )
        for limit, used, asked, cap in caps:
            if limit and asked and used + asked > limit:
                raise cap_refused(cap, used, limit, asked)

    def tallies(self) -> tuple[dict[tuple[str, str], tuple[int, int, int]], dict[tuple[str, str], int]]:
        """What the days (images, videos, credits by licence and day) and months (credits by licence
        and month) hold, reservations included: what a rebuild hands to shared counters."""
        days = {key: (t.images, t.videos, t.credits) for key, t in self._days.items()}
        return days, dict(self._months)

    def _day(self, licence_id: str, day: str) -> Tally:
        return self._days.setdefault((licence_id, day), Tally())

    def _add_month(self, licence_id: str, month: str, credits: int) -> None:
        key = (licence_id, month)
        self._months[key] = self._months.get(key, 0) + credits

    def _roll(self, day: str) -> None:
        """Forget the counts of days (and months) before ``day``: nothing checks them any more."""
        if day <= self._today:
            return
        self._today = day
        self._days = {k: v for k, v in self._days.items() if k[1] >= day}
        self._months = {k: v for k, v in self._months.items() if k[1] >= day[:7]}


# The caps a demand is checked against, by name: what the refusal calls it, and its unit.
CAPS = {
    "daily_images": ("daily image cap", "images today"),
    "daily_videos": ("daily video cap", "videos today"),
    "daily_credits": ("daily credit budget", "credits today"),
    "monthly_credits": ("monthly credit budget", "credits this month"),
}


def rate_refused(limit: int, used: int, wait: float) -> NoCapacityError:
    """The 429 of a full requests-per-minute window (``wait``: seconds until one more fits)."""
    return NoCapacityError(
        f"Rate limit reached for this licence on requests per minute: limit {limit}, "
        f"used {used}. Please try again in {max(1, round(wait))}s.",
        retry_after=max(wait, 0.001),
    )


def busy_refused(busy: int, copies: int, limit: int) -> NoCapacityError:
    """The 429 of a licence with too many generations in progress for ``copies`` more."""
    return NoCapacityError(
        f"This licence has {busy} generation(s) in progress and this request needs "
        f"{copies} more; its limit is {limit}. Try again when one has finished.",
        retry_after=BUSY_RETRY,
    )


def cap_refused(cap: str, used: int, limit: int, asked: int) -> QuotaExceededError:
    """The 429 of a daily cap or a budget (one of :data:`CAPS`) that ``asked`` would pass."""
    name, unit = CAPS[cap]
    return QuotaExceededError(
        f"This request would exceed the licence's {name}: {used} of {limit} {unit} used, "
        f"this request needs {asked}. Budgets count in UTC days and months."
    )
