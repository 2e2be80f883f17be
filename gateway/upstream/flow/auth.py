"""Session token → access token exchange, cached per account and refreshed ahead of expiry.

One refresh at a time per account (single flight): concurrent callers for the same account await
the same exchange. The exchange itself (an HTTP call) is passed in, so this module holds only the
caching and timing rules; the clock is injectable for tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from gateway.upstream.flow.errors import UpstreamAuthError
from gateway.upstream.flow.rest_schemas import AccessToken
from gateway.upstream.flow.transport import FlowCredentials

Exchange = Callable[[FlowCredentials], Awaitable[AccessToken | None]]


class AccessTokens:
    """Cache of access tokens keyed by account id."""

    def __init__(self, exchange: Exchange, *, margin: float, clock: Callable[[], float] = time.time) -> None:
        self._exchange = exchange
        self._margin = margin
        self._clock = clock
        self._tokens: dict[str, AccessToken] = {}
        self._inflight: dict[str, asyncio.Future[AccessToken]] = {}

    async def get(self, creds: FlowCredentials) -> AccessToken:
        """A token valid for at least ``margin`` seconds, exchanging the session token if needed."""
        cached = self._tokens.get(creds.account_id)
        if cached is not None and cached.expires_at - self._clock() > self._margin:
            return cached
        pending = self._inflight.get(creds.account_id)
        if pending is None:
            pending = asyncio.ensure_future(self._refresh(creds))
            self._inflight[creds.account_id] = pending
            pending.add_done_callback(lambda fut: self._settled(creds.account_id, fut))
        # shield: one caller being cancelled must not cancel the exchange the others wait for.
        return await asyncio.shield(pending)

    def peek(self, account_id: str) -> AccessToken | None:
        """The cached token, fresh or not (for the e-mail it carries), without exchanging."""
        return self._tokens.get(account_id)

    def invalidate(self, account_id: str) -> None:
        """Forget the cached token (after a 401), so the next ``get`` exchanges again."""
        self._tokens.pop(account_id, None)

    def forget(self, account_id: str) -> None:
        """Drop everything known about an account (removed from the pool)."""
        self.invalidate(account_id)

    def _settled(self, account_id: str, fut: asyncio.Future[AccessToken]) -> None:
        self._inflight.pop(account_id, None)
        if not fut.cancelled():
            fut.exception()  # retrieved here so that no waiter left is not an "exception never retrieved"

    async def _refresh(self, creds: FlowCredentials) -> AccessToken:
        token = await self._exchange(creds)
        if token is None:
            self._tokens.pop(creds.account_id, None)
            raise UpstreamAuthError("session token yields no access token", endpoint="auth.session")
        self._tokens[creds.account_id] = token
        return token
