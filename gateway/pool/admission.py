"""Why a request cannot be served now, decided before it waits: the immediate errors of a lease.

Checks that cost classes, not accounts, come first (groups, tier); then an upstream incident or a
feature paused for everybody (503/429 with the time they end); then whether some account could
serve at all (a refusal, a spent daily quota, a catalogue that lacks it). ``worth_waiting`` tells
a lease whether waiting can help: when every capable account is cooling down beyond the wait
budget, the client gets 429 at once with the true time, not after the budget is spent.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import NoCapacityError, PermissionDeniedError, ServiceUnavailableError
from gateway.pool.incident import IncidentWatch
from gateway.pool.index import Reach, SelectionIndex, Want

INCIDENT = "upstream_incident"
NO_ACCOUNT_RETRY = 30.0  # no account serves at all (workers away, sessions to renew): a guess, said so


def check_capable(
    index: SelectionIndex, want: Want, now: float, *, paused: Mapping[str, float], incident: IncidentWatch
) -> None:
    """Raise the error a lease would meet at once; return when some account could serve ``want``."""
    _check_classes(index, want)
    if incident.active(now):
        raise ServiceUnavailableError(
            "Flow is failing for most accounts at once (an upstream incident); the gateway backs off "
            "until it recovers",
            code=INCIDENT,
            retry_after=max(1.0, incident.until - now),
        )
    until = paused.get(want.feature, 0.0) if want.feature else 0.0
    if until > now:
        raise NoCapacityError(
            f"Flow is short of capacity for {want.feature}; retry later", retry_after=until - now
        )
    _check_reach(index, want, now)


def _check_classes(index: SelectionIndex, want: Want) -> None:
    in_group, entitled = index.classes(want)
    if not in_group:
        raise PermissionDeniedError(
            f"no account in group(s) {', '.join(sorted(want.groups))} can serve this request",
            param="model",
            code="no_account_in_group",
        )
    if not entitled:
        raise PermissionDeniedError(
            f"this model needs a Flow {want.tier.label} account and none is available", param="model"
        )


def _check_reach(index: SelectionIndex, want: Want, now: float) -> None:
    reach, back = index.reach(want, now)
    if reach is Reach.EXHAUSTED:
        raise NoCapacityError(
            f"every Flow account able to serve {want.feature} has used its daily quota of it",
            retry_after=max(1.0, back - now),
        )
    if reach is Reach.REFUSED:
        raise PermissionDeniedError(
            f"Flow refuses {want.feature} to every account able to serve it", param="model"
        )
    if reach is Reach.UNOFFERED:
        raise PermissionDeniedError(
            f"no Flow account's catalogue offers {want.feature or 'this request'}",
            param="model",
            code="model_not_offered",
        )
    if reach is Reach.NONE:
        raise ServiceUnavailableError(
            "no usable Flow account for this request right now", retry_after=NO_ACCOUNT_RETRY
        )


def no_capacity(index: SelectionIndex, want: Want, now: float) -> NoCapacityError:
    """429 with the soonest time a capable account's cooldown ends (1 s when they are only busy)."""
    soonest = index.soonest_ready(want, now)
    return NoCapacityError(
        "every Flow account able to serve this request is busy or cooling down; retry later",
        retry_after=max(1.0, soonest if soonest is not None else 1.0),
    )


def worth_waiting(index: SelectionIndex, want: Want, now: float, budget: float) -> bool:
    """True when some capable account is busy (it may free up any moment) or cools down within
    ``budget`` seconds; False when all of them cool down for longer."""
    return index.free_within(want, now, budget)
