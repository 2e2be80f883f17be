"""A held slot on one account (``Lease``) and the context of an outcome reported on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.domain import Capability
from gateway.pool.account import Account
from gateway.pool.index import Want
from gateway.pool.policy import Outcome

if TYPE_CHECKING:  # the pool creates leases; a lease reports its outcome to the table
    from gateway.pool.table import AccountTable


class Lease:
    """One held slot on one account; report the outcome before leaving the context."""

    def __init__(self, table: AccountTable, account: Account, request: Want) -> None:
        self.account = account
        self.capability = request.capability
        self.request = request
        self._table = table
        self.outcome: Outcome | None = None

    def report(
        self, outcome: Outcome, *, retry_after: float | None = None, error: str = "", credits: int = 0
    ) -> None:
        """Record what happened (``error``: the failure's class; ``credits``: what a success cost)."""
        self.outcome = outcome
        self._table.record(
            self.account,
            outcome,
            retry_after=retry_after,
            detail=OutcomeDetail(self.capability, self.request.feature, error, credits),
        )


@dataclass(frozen=True, slots=True)
class OutcomeDetail:
    """The context of an outcome: which capability and feature, the error class, the credits spent."""

    capability: Capability = Capability.IMAGE
    feature: str = ""
    error: str = ""
    credits: int = 0
