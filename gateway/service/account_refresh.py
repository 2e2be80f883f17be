"""Refreshing what Flow says about each account (credits, tier) on a schedule.

An account whose information is older than ``credits_ttl`` is asked again, a few at a time; the
answer updates the pool (credits back lift ``out_of_credits``), a failure goes through the same
retry table as any call (a dead session counts towards ``needs_relogin``, a 308 to
flow.google.com makes it ``needs_worker``). Worker accounts are read through their worker (credits,
tier and their model catalogue) as soon as the worker connects and then on the same schedule; what
cannot be read of them is reported on the account, never a reason to stop serving it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import structlog

from gateway.domain import AccountKind
from gateway.pool.account import Account
from gateway.pool.policy import AccountState, Health, Outcome
from gateway.pool.pool import AccountPool, OutcomeDetail
from gateway.service.entitlement import apply_info, credentials_of
from gateway.service.retry import decide
from gateway.upstream.flow.errors import UpstreamError
from gateway.upstream.flow.transport import FlowTransport

log = structlog.get_logger("gateway.service.account_refresh")
REFRESHABLE = frozenset({AccountState.ACTIVE, AccountState.COOLING_DOWN, AccountState.OUT_OF_CREDITS})
# Accounts whose credentials are new or re-enabled are checked at once, whatever their age.


class AccountRefresher:
    """Keeps tier and credits fresh."""

    def __init__(  # noqa: PLR0913 - the composition root passes each collaborator by name
        self,
        pool: AccountPool,
        transports: Mapping[AccountKind, FlowTransport],
        *,
        ttl: float,
        parallel: int = 4,
        clock: Callable[[], float] = time.time,
        on_unread: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._transports = transports
        self._ttl = ttl
        self._gate = asyncio.Semaphore(parallel)
        self._clock = clock
        self._wake = asyncio.Event()
        self._on_unread = on_unread

    def wake(self) -> None:
        """Run a round now (an account waits in ``refreshing`` to be verified)."""
        self._wake.set()

    def due(self) -> list[Account]:
        """Accounts to verify (``refreshing``), or refreshable with information older than the TTL."""
        now = self._clock()
        return [
            a
            for a in self._pool.table.accounts
            if a.kind in self._transports
            and (
                a.health.state is AccountState.REFRESHING
                or (a.health.state in REFRESHABLE and now - a.info_at >= self._ttl)
            )
        ]

    async def refresh_due(self) -> int:
        """Refresh every due account; returns how many answered. One account's unexpected error (a
        bug, or input nothing validated) is logged and counted as unanswered: it must not end the
        round, or the loop, for every other account."""
        due = self.due()
        results = await asyncio.gather(*(self._refresh(a) for a in due), return_exceptions=True)
        for account, result in zip(due, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                log.error("account_refresh_crashed", account=account.id, exc_info=result)
        return sum(1 for r in results if r is True)

    async def run(self, interval: float) -> None:
        """Refresh due accounts every ``interval`` seconds until cancelled. The first round waits one
        interval (or a ``wake``): at start accounts are refreshed on first use, and a restart must not
        stampede Flow."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.refresh_due()

    async def _refresh(self, account: Account) -> bool:
        creds = credentials_of(account)
        async with self._gate:
            try:
                info = await self._transports[account.kind].account_info(creds)
            except UpstreamError as exc:
                outcome = decide(exc).outcome
                if account.health.state is AccountState.REFRESHING and outcome is Outcome.AUTH_FAILED:
                    # New credentials that Flow rejects: no second chance is owed to them.
                    self._pool.table.set_health(
                        account.id,
                        Health(AccountState.NEEDS_RELOGIN, "session rejected", since=self._clock()),
                    )
                else:
                    detail = OutcomeDetail(error=type(exc).__name__)
                    self._pool.table.record(account, outcome, retry_after=exc.retry_after, detail=detail)
                log.info(
                    "account_refresh_failed", account=account.id, error=type(exc).__name__, reason=exc.reason
                )
                return False
        apply_info(self._pool, account.id, info)
        if info.problems:
            log.warning("account_catalogue_unread", account=account.id, problems=list(info.problems))
            if self._on_unread is not None:
                self._on_unread()
        return True
