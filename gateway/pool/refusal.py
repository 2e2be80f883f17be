"""Why the pool cannot serve a lease: a reason, when to try again, and the want it was asked for.

The pool speaks no HTTP: it raises :class:`NoEligibleAccountError` and the service layer
(``gateway.service.refusals``) turns the reason into the client's error, its status and wording.
"""

from __future__ import annotations

import enum

from gateway.pool.index import Want


class Ineligible(enum.Enum):
    """Why no account serves a want (each maps to one client error in the service layer)."""

    NO_GROUP = "no_group"  # no account in the wanted groups
    BELOW_TIER = "below_tier"  # accounts in the groups, none with the tier
    INCIDENT = "incident"  # most accounts fail together: the pool backs off
    PAUSED = "paused"  # Flow is short of capacity for the feature, for everybody
    EXHAUSTED = "exhausted"  # every capable account spent its daily quota of the feature
    REFUSED = "refused"  # Flow refuses the feature to every capable account
    UNOFFERED = "unoffered"  # no capable account's catalogue offers it
    NO_ACCOUNT = "no_account"  # no account serves at all now (workers away, sessions to renew)
    BUSY = "busy"  # every capable account is busy or cooling down beyond the wait
    PINNED_BUSY = "pinned_busy"  # the one account a follow-up needs stayed busy
    PINNED_GONE = "pinned_gone"  # the one account a follow-up needs cannot serve


class NoEligibleAccountError(Exception):
    """No account can serve ``want`` now; ``retry_after`` seconds is the pool's best guess."""

    def __init__(self, reason: Ineligible, want: Want, *, retry_after: float = 0.0) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.want = want
        self.retry_after = retry_after
