"""Why a request cannot be served now, decided before it waits: the immediate refusals of a lease.

Checks that cost classes, not accounts, come first (groups, tier); then an upstream incident or a
feature paused for everybody (with the time they end); then whether some account could serve at
all (a refusal, a spent daily quota, a catalogue that lacks it). ``worth_waiting`` tells a lease
whether waiting can help: when every capable account is cooling down beyond the wait budget, the
client hears it at once with the true time, not after the budget is spent. Every refusal is a
:class:`NoEligibleAccountError` with its reason; the service layer words it for the client.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.pool.incident import IncidentWatch
from gateway.pool.index import Reach, SelectionIndex, Want
from gateway.pool.refusal import Ineligible, NoEligibleAccountError

NO_ACCOUNT_RETRY = 30.0  # no account serves at all (workers away, sessions to renew): a guess, said so
_REACHES = {
    Reach.EXHAUSTED: Ineligible.EXHAUSTED,
    Reach.REFUSED: Ineligible.REFUSED,
    Reach.UNOFFERED: Ineligible.UNOFFERED,
    Reach.NONE: Ineligible.NO_ACCOUNT,
}


def check_capable(
    index: SelectionIndex, want: Want, now: float, *, paused: Mapping[str, float], incident: IncidentWatch
) -> None:
    """Raise the refusal a lease would meet at once; return when some account could serve ``want``."""
    in_group, entitled = index.classes(want)
    if not in_group:
        raise NoEligibleAccountError(Ineligible.NO_GROUP, want)
    if not entitled:
        raise NoEligibleAccountError(Ineligible.BELOW_TIER, want)
    if incident.active(now):
        raise NoEligibleAccountError(Ineligible.INCIDENT, want, retry_after=max(1.0, incident.until - now))
    until = paused.get(want.feature, 0.0) if want.feature else 0.0
    if until > now:
        raise NoEligibleAccountError(Ineligible.PAUSED, want, retry_after=until - now)
    reach, back = index.reach(want, now)
    if reach is Reach.SERVING:
        return
    retry = max(1.0, back - now) if reach is Reach.EXHAUSTED else NO_ACCOUNT_RETRY
    raise NoEligibleAccountError(_REACHES[reach], want, retry_after=retry)


def no_capacity(index: SelectionIndex, want: Want, now: float) -> NoEligibleAccountError:
    """Busy: with the soonest time a capable account's cooldown ends (1 s when they are only busy)."""
    soonest = index.soonest_ready(want, now)
    return NoEligibleAccountError(
        Ineligible.BUSY, want, retry_after=max(1.0, soonest if soonest is not None else 1.0)
    )


def worth_waiting(index: SelectionIndex, want: Want, now: float, budget: float) -> bool:
    """True when some capable account is busy (it may free up any moment) or cools down within
    ``budget`` seconds; False when all of them cool down for longer."""
    return index.free_within(want, now, budget)
