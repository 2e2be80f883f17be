import asyncio

import pytest

from gateway.domain import Secret
from gateway.upstream.flow.auth import AccessTokens
from gateway.upstream.flow.errors import UpstreamAuthError
from gateway.upstream.flow.rest_schemas import AccessToken
from gateway.upstream.flow.transport import FlowCredentials

CREDS = FlowCredentials("acc_1", Secret("st"))


class Exchange:
    def __init__(self, clock: list[float], lifetime: float = 3600) -> None:
        self.calls = 0
        self.clock = clock
        self.lifetime = lifetime
        self.dead = False

    async def __call__(self, creds: FlowCredentials) -> AccessToken | None:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.dead:
            return None
        return AccessToken(Secret(f"at-{self.calls}"), self.clock[0] + self.lifetime, "a@b")


async def test_single_flight_per_account() -> None:
    now = [0.0]
    exchange = Exchange(now)
    tokens = AccessTokens(exchange, margin=60, clock=lambda: now[0])
    got = await asyncio.gather(*(tokens.get(CREDS) for _ in range(20)))
    assert exchange.calls == 1
    assert {t.token.reveal() for t in got} == {"at-1"}


async def test_refresh_ahead_of_expiry_and_invalidate() -> None:
    now = [0.0]
    exchange = Exchange(now)
    tokens = AccessTokens(exchange, margin=60, clock=lambda: now[0])
    await tokens.get(CREDS)
    now[0] = 3500
    assert (await tokens.get(CREDS)).token.reveal() == "at-1"
    now[0] = 3541
    assert (await tokens.get(CREDS)).token.reveal() == "at-2"
    tokens.invalidate("acc_1")
    assert (await tokens.get(CREDS)).token.reveal() == "at-3"


async def test_dead_session_is_an_auth_error_for_every_waiter() -> None:
    now = [0.0]
    exchange = Exchange(now)
    exchange.dead = True
    tokens = AccessTokens(exchange, margin=60, clock=lambda: now[0])
    results = await asyncio.gather(*(tokens.get(CREDS) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, UpstreamAuthError) for r in results)
    assert exchange.calls == 1


async def test_cancelled_waiter_does_not_cancel_the_exchange() -> None:
    now = [0.0]
    exchange = Exchange(now)
    tokens = AccessTokens(exchange, margin=60, clock=lambda: now[0])
    first = asyncio.ensure_future(tokens.get(CREDS))
    second = asyncio.ensure_future(tokens.get(CREDS))
    await asyncio.sleep(0)
    first.cancel()
    assert (await second).token.reveal() == "at-1"
    with pytest.raises(asyncio.CancelledError):
        await first
