"""The pool's refusals in the client's words: one table from ``Ineligible`` to the error a client
sees (status, ``code``, message, ``Retry-After``), and the lease helpers that apply it.

The pool knows why it cannot serve; only this module knows how that is said over HTTP. The helpers
translate the refusal of the *acquisition* alone: an error raised by the work done under a lease
passes untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType

from gateway.domain import Capability
from gateway.errors import GatewayError, NoCapacityError, PermissionDeniedError, ServiceUnavailableError
from gateway.pool.pool import AccountPool, Lease, LeaseRequest
from gateway.pool.refusal import Ineligible, NoEligibleAccountError

INCIDENT = "upstream_incident"  # the code of the 503 an upstream incident gets (callers test for it)


def _no_group(exc: NoEligibleAccountError) -> GatewayError:
    return PermissionDeniedError(
        f"no account in group(s) {', '.join(sorted(exc.want.groups))} can serve this request",
        param="model",
        code="no_account_in_group",
    )


def _below_tier(exc: NoEligibleAccountError) -> GatewayError:
    return PermissionDeniedError(
        f"this model needs a Flow {exc.want.tier.label} account and none is available", param="model"
    )


def _incident(exc: NoEligibleAccountError) -> GatewayError:
    return ServiceUnavailableError(
        "Flow is failing for most accounts at once (an upstream incident); the gateway backs off "
        "until it recovers",
        code=INCIDENT,
        retry_after=exc.retry_after,
    )


def _paused(exc: NoEligibleAccountError) -> GatewayError:
    return NoCapacityError(
        f"Flow is short of capacity for {exc.want.feature}; retry later", retry_after=exc.retry_after
    )


def _exhausted(exc: NoEligibleAccountError) -> GatewayError:
    return NoCapacityError(
        f"every Flow account able to serve {exc.want.feature} has used its daily quota of it",
        retry_after=exc.retry_after,
    )


def _refused(exc: NoEligibleAccountError) -> GatewayError:
    return PermissionDeniedError(
        f"Flow refuses {exc.want.feature} to every account able to serve it", param="model"
    )


def _unoffered(exc: NoEligibleAccountError) -> GatewayError:
    return PermissionDeniedError(
        f"no Flow account's catalogue offers {exc.want.feature or 'this request'}",
        param="model",
        code="model_not_offered",
    )


def _no_account(exc: NoEligibleAccountError) -> GatewayError:
    return ServiceUnavailableError(
        "no usable Flow account for this request right now", retry_after=exc.retry_after
    )


def _busy(exc: NoEligibleAccountError) -> GatewayError:
    return NoCapacityError(
        "every Flow account able to serve this request is busy or cooling down; retry later",
        retry_after=exc.retry_after,
    )


def _pinned_busy(exc: NoEligibleAccountError) -> GatewayError:
    return NoCapacityError(
        "the Flow account holding this video is busy; retry later", retry_after=exc.retry_after
    )


def _pinned_gone(exc: NoEligibleAccountError) -> GatewayError:
    return ServiceUnavailableError(
        "the Flow account holding this video cannot serve now",
        code="account_unavailable",
        retry_after=exc.retry_after,
    )


_WORDING: dict[Ineligible, Callable[[NoEligibleAccountError], GatewayError]] = {
    Ineligible.NO_GROUP: _no_group,
    Ineligible.BELOW_TIER: _below_tier,
    Ineligible.INCIDENT: _incident,
    Ineligible.PAUSED: _paused,
    Ineligible.EXHAUSTED: _exhausted,
    Ineligible.REFUSED: _refused,
    Ineligible.UNOFFERED: _unoffered,
    Ineligible.NO_ACCOUNT: _no_account,
    Ineligible.BUSY: _busy,
    Ineligible.PINNED_BUSY: _pinned_busy,
    Ineligible.PINNED_GONE: _pinned_gone,
}


def client_error(exc: NoEligibleAccountError) -> GatewayError:
    """The client's error for a pool refusal."""
    return _WORDING[exc.reason](exc)


def check(pool: AccountPool, want: LeaseRequest) -> None:
    """Raise at once the client error a lease for ``want`` would meet (tasks check at creation)."""
    try:
        pool.check(want)
    except NoEligibleAccountError as exc:
        raise client_error(exc) from None


class _Refusing:
    """An acquisition whose pool refusal is said as the client's error; the lease itself passes
    through untouched. A slotted class, not an ``@asynccontextmanager`` over an ``AsyncExitStack``:
    a video holds its lease for minutes, thousands at once, and the generator's frame and the stack
    cost about 1.3 KB per held lease (M6's memory per video stream), this about 50 bytes."""

    __slots__ = ("_inner",)

    def __init__(self, inner: AbstractAsyncContextManager[Lease]) -> None:
        self._inner = inner

    async def __aenter__(self) -> Lease:
        try:
            return await self._inner.__aenter__()
        except NoEligibleAccountError as exc:
            raise client_error(exc) from None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._inner.__aexit__(kind, exc, tb)


def lease(pool: AccountPool, want: LeaseRequest) -> AbstractAsyncContextManager[Lease]:
    """``pool.lease(want)``, its refusal said as the client's error."""
    return _Refusing(pool.lease(want))


def lease_on(
    pool: AccountPool, account_id: str, capability: Capability
) -> AbstractAsyncContextManager[Lease]:
    """``pool.lease_on(account_id, capability)``, its refusal said as the client's error."""
    return _Refusing(pool.lease_on(account_id, capability))
