"""What every generation checks on its leased account first: the credentials a transport needs, and
a tier (with credits) known and fresh enough, refusing an account below the spec's tier."""

from __future__ import annotations

from gateway.domain import GenerationSpec
from gateway.pool.account import Account
from gateway.pool.pool import AccountPool
from gateway.upstream.flow.errors import UpstreamForbiddenError
from gateway.upstream.flow.transport import AccountInfo, FlowCredentials, FlowTransport


def credentials_of(account: Account) -> FlowCredentials:
    """What a transport needs to act as ``account``."""
    return FlowCredentials(account.id, account.session_token, account.proxy, account.worker_key)


async def ensure_entitled(  # noqa: PLR0913 - keyword-only context of one check
    pool: AccountPool,
    account: Account,
    transport: FlowTransport,
    spec: GenerationSpec,
    *,
    ttl: float,
    now: float,
) -> None:
    """Ask Flow for tier and credits when unknown or older than ``ttl``; an account below the spec's
    tier is refused as Flow would refuse it (the retry table sends the request elsewhere)."""
    if account.tier is None or now - account.info_at > ttl:
        apply_info(pool, account.id, await transport.account_info(credentials_of(account)))
    if account.tier is not None and account.tier.rank < spec.tier.rank:
        raise UpstreamForbiddenError(
            f"account tier {account.tier.label} below {spec.tier.label}", endpoint="tier"
        )


def apply_info(pool: AccountPool, account_id: str, info: AccountInfo) -> None:
    """Put what Flow reported about an account on it (a REST account has no catalogue to report)."""
    read = info.offers is not None or info.problems
    catalogue = (info.offers, info.models, info.problems) if read else None
    pool.table.update_info(
        account_id,
        tier=info.tier,
        credits=info.credits,
        email=info.email,
        tier_read=info.tier_read,
        catalogue=catalogue,
    )
