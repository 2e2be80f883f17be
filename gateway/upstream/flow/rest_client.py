"""The plumbing of the legacy REST upstream: sessions, access tokens, projects, headers, one exchange.

:class:`RestClient` makes one HTTP call to labs.google or aisandbox-pa for an account and returns
the JSON document, or raises a typed ``UpstreamError``: session token → access token (cached,
single flight, refreshed ahead of expiry), one project per account (cached, persisted through a
``ProjectCache``), a fresh reCAPTCHA token with the solver's user agent for generation-class
calls. The operations (images in ``rest``, videos in ``rest_video``) are built on it. It knows
nothing of leases, pools or retries: one call, one attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import structlog
import yarl

from gateway.config import FlowSettings
from gateway.domain import CaptchaAction, CaptchaFailedError
from gateway.upstream.flow import rest_schemas as wire
from gateway.upstream.flow.auth import AccessTokens
from gateway.upstream.flow.download import Write, fetch_media, fetch_media_into
from gateway.upstream.flow.errors import (
    UpstreamCaptchaError,
    UpstreamConnectionLostError,
    UpstreamError,
    UpstreamMigratedError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    classify,
    parse_google_error,
)
from gateway.upstream.flow.transport import AccountInfo, FlowCredentials, ProjectCache, TokenSource
from gateway.upstream.http import FlowSessions

SESSION_COOKIE = "__Secure-next-auth.session-token"
MIGRATED_HOST = "flow.google.com"
FLOW_PROJECT_URL = "https://labs.google/fx/tools/flow/project/{project_id}"
# A project Flow refuses is renewed at most this often per account: a refusal right after a renewal
# is about the request, and must not create a project per failing request.
PROJECT_RENEWAL = 600.0
log = structlog.get_logger("gateway.upstream.rest")
# Headers the Flow web client sends on generation-class calls (flow-protocol.md §2).
GENERATION_HEADERS = {
    "Accept": "*/*",
    "Origin": "https://labs.google",
    "Referer": "https://labs.google/",
    "Priority": "u=1, i",
    "sec-fetch-dest": "empty",
    "sec-fetch-mode": "cors",
    "sec-fetch-site": "cross-site",
    "x-browser-channel": "stable",
    "x-browser-year": "2026",
}


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP exchange: which host (``labs`` or ``api``), method, path, operation name and timeout."""

    host: str
    method: str
    path: str
    endpoint: str
    timeout: float


@dataclass(frozen=True, slots=True)
class Redirect:
    """A 3xx answer's target (media URL redirects)."""

    location: str


class RestClient:
    """Authenticated single calls to the legacy REST hosts."""

    def __init__(
        self,
        sessions: FlowSessions,
        settings: FlowSettings,
        *,
        captcha: TokenSource,
        projects: ProjectCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self._captcha = captcha
        self._projects = projects
        self.clock = clock
        self.tokens = AccessTokens(self._exchange, margin=settings.token_refresh_margin, clock=clock)
        self._project_ids: dict[str, str] = {}
        self._project_locks: dict[str, asyncio.Lock] = {}
        self._renewed: dict[str, float] = {}
        self._info: dict[str, tuple[float, AccountInfo]] = {}

    def call(self, host: str, method: str, path: str, endpoint: str, timeout: float | None = None) -> Call:
        """A call description (the request timeout unless given)."""
        return Call(host, method, path, endpoint, timeout or self.settings.request_timeout)

    async def account_info(self, creds: FlowCredentials) -> AccountInfo:
        """``GET /v1/credits``: credits and paygate tier (remembered for contexts that need the tier)."""
        doc = await self.api(self.call("api", "GET", "/v1/credits", "credits"), creds)
        info = wire.parse_credits(doc)
        token = self.tokens.peek(creds.account_id)
        result = AccountInfo(info.credits, info.tier, token.email if token else "")
        self._info[creds.account_id] = (self.clock(), result)
        return result

    async def cached_info(self, creds: FlowCredentials) -> AccountInfo:
        """Tier for contexts that carry it: fresh within ``credits_ttl``, else asked again."""
        cached = self._info.get(creds.account_id)
        if cached is not None and self.clock() - cached[0] < self.settings.credits_ttl:
            return cached[1]
        return await self.account_info(creds)

    async def project_id(self, creds: FlowCredentials) -> str:
        """The account's project: memory, then the project cache, then ``project.createProject``."""
        known = self._project_ids.get(creds.account_id)
        if known:
            return known
        lock = self._project_locks.setdefault(creds.account_id, asyncio.Lock())
        async with lock:
            project_id = self._project_ids.get(creds.account_id) or await self._projects.get_project(
                creds.account_id
            )
            if not project_id:
                project_id = await self._create_project(creds)
                await self._projects.set_project(creds.account_id, project_id)
            self._project_ids[creds.account_id] = project_id
            return project_id

    async def renew_project(self, creds: FlowCredentials, stale: str) -> bool:
        """Forget a project Flow refused (memory and store) and create another, at most once per
        ``PROJECT_RENEWAL`` seconds per account; False when it was renewed too recently (the refusal
        is then about the request, not the project)."""
        lock = self._project_locks.setdefault(creds.account_id, asyncio.Lock())
        async with lock:
            if self._project_ids.get(creds.account_id) not in (stale, None):
                return True  # another call renewed it meanwhile
            if self.clock() - self._renewed.get(creds.account_id, -PROJECT_RENEWAL) < PROJECT_RENEWAL:
                return False
            self._renewed[creds.account_id] = self.clock()
            self._project_ids.pop(creds.account_id, None)
            await self._projects.forget_project(creds.account_id)
            log.warning("project_renewed", account=creds.account_id)
        await self.project_id(creds)
        return True

    def forget(self, account_id: str) -> None:
        """Drop cached tokens, project and tier of an account (its credentials changed)."""
        self.tokens.forget(account_id)
        self._project_ids.pop(account_id, None)
        self._info.pop(account_id, None)

    async def generation_context(
        self, action: CaptchaAction, project_id: str, info: AccountInfo | None
    ) -> tuple[dict[str, Any], str]:
        """A ``clientContext`` with a fresh token, and the user agent the call must present with it."""
        website_url = FLOW_PROJECT_URL.format(project_id=project_id)
        try:
            solved = await self._captcha.solve(action=action, website_url=website_url)
        except CaptchaFailedError as exc:
            raise UpstreamCaptchaError(f"no reCAPTCHA token: {exc}", endpoint="captcha") from exc
        ctx = wire.client_context(
            session_id=wire.new_session_id(int(self.clock() * 1000)),
            project_id=project_id,
            token=solved.token.reveal(),
            tier=info.tier if info else None,
        )
        return ctx, solved.user_agent or self.settings.user_agent

    async def download(self, url: str) -> bytes:
        """GET a signed media URL (no credentials), bounded in size."""
        return await fetch_media(
            self.sessions.downloads,
            url,
            seconds=self.settings.request_timeout,
            user_agent=self.settings.user_agent,
        )

    async def download_into(self, url: str, write: Write) -> None:
        """GET a signed media URL piece by piece into ``write``."""
        await fetch_media_into(
            self.sessions.downloads,
            url,
            write,
            seconds=self.settings.request_timeout,
            user_agent=self.settings.user_agent,
        )

    async def api(
        self, call: Call, creds: FlowCredentials, *, body: object = None, user_agent: str | None = None
    ) -> object:
        """An aisandbox call with the account's Bearer. A 401 on a plain call is retried once with a
        freshly exchanged token; a second 401 means the session works but aisandbox refuses it: the
        account moved to flow.google.com (flow-migration.md §1.3). Generation calls (``user_agent``
        given) are not resent: their reCAPTCHA token is single use."""
        try:
            return await self._send(
                call, creds, body=body, headers=await self._api_headers(creds, user_agent)
            )
        except UpstreamError as exc:
            if exc.error is None or exc.error.http_status != 401:
                raise
            self.tokens.invalidate(creds.account_id)
            if user_agent is not None:
                raise
        try:
            return await self._send(call, creds, body=body, headers=await self._api_headers(creds, None))
        except UpstreamError as exc:
            if exc.error is not None and exc.error.http_status == 401:
                raise UpstreamMigratedError(
                    f"{call.endpoint}: aisandbox refuses a fresh access token", endpoint=call.endpoint
                ) from exc
            raise

    async def labs(self, call: Call, creds: FlowCredentials, *, body: object = None) -> object:
        """A labs.google call with the session cookie (a redirect there is returned, not followed)."""
        return await self._send(call, creds, body=body, headers=self._labs_headers(creds))

    async def _create_project(self, creds: FlowCredentials) -> str:
        title = time.strftime("%b %d - %H:%M", time.gmtime(self.clock())) + " gateway"
        call = self.call("labs", "POST", "/fx/api/trpc/project.createProject", "project.create")
        doc = await self.labs(call, creds, body=wire.build_create_project(title))
        return wire.parse_create_project(doc)

    async def _exchange(self, creds: FlowCredentials) -> wire.AccessToken | None:
        call = self.call("labs", "GET", "/fx/api/auth/session", "auth.session")
        return wire.parse_session(await self.labs(call, creds))

    async def _api_headers(self, creds: FlowCredentials, user_agent: str | None) -> dict[str, str]:
        token = await self.tokens.get(creds)
        headers = {"authorization": f"Bearer {token.token.reveal()}", **self._base_headers(user_agent)}
        if user_agent is not None:
            headers.update(GENERATION_HEADERS)
        return headers

    async def _send(
        self, call: Call, creds: FlowCredentials, *, body: object, headers: Mapping[str, str]
    ) -> object:
        session = self.sessions.labs if call.host == "labs" else self.sessions.api
        data = orjson.dumps(body) if body is not None else None
        async with (
            _Guard(call),
            session.request(
                call.method,
                call.path,
                data=data,
                headers=headers,
                proxy=creds.proxy or None,
                allow_redirects=False,
            ) as resp,
        ):
            raw = await resp.read()
            redirect = _redirect(resp, call.endpoint)
            if redirect is not None:
                return redirect
            if resp.status >= 400:
                raise classify(
                    parse_google_error(resp.status, raw),
                    endpoint=call.endpoint,
                    retry_after=_retry_after(resp.headers.get("Retry-After")),
                )
        try:
            return orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError(
                f"{call.endpoint}: reply is not JSON", endpoint=call.endpoint
            ) from None

    def _base_headers(self, user_agent: str | None) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": user_agent or self.settings.user_agent,
            "Accept-Language": self.settings.accept_language,
        }

    def _labs_headers(self, creds: FlowCredentials) -> dict[str, str]:
        return {
            **self._base_headers(None),
            "Cookie": f"{SESSION_COOKIE}={creds.session_token.reveal()}",
            "Origin": "https://labs.google",
        }


class _Guard:
    """Bounds one exchange in time and turns transport failures into typed upstream errors."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._timeout = asyncio.timeout(call.timeout)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)  # type: ignore[arg-type]
        except TimeoutError:
            raise UpstreamTimeoutError(
                f"{self._call.endpoint}: no answer within {self._call.timeout:g}s",
                endpoint=self._call.endpoint,
            ) from None
        if isinstance(exc, TimeoutError):
            raise UpstreamTimeoutError(
                f"{self._call.endpoint}: timed out", endpoint=self._call.endpoint
            ) from exc
        if isinstance(exc, aiohttp.ClientConnectorError):  # never connected: nothing was sent
            raise UpstreamUnavailableError(
                f"{self._call.endpoint}: {type(exc).__name__}", endpoint=self._call.endpoint
            ) from exc
        if isinstance(exc, aiohttp.ClientError):  # broken after the request went out
            raise UpstreamConnectionLostError(
                f"{self._call.endpoint}: {type(exc).__name__}", endpoint=self._call.endpoint
            ) from exc


# Media URL redirects are the one place a 3xx is the answer rather than a sign the account moved.
REDIRECT_ENDPOINTS = frozenset({"media.redirect"})


def _redirect(resp: aiohttp.ClientResponse, endpoint: str) -> Redirect | None:
    """A redirect means the account moved (to flow.google.com: a worker must serve it), except for
    media URL redirects, whose target is the answer."""
    if not 300 <= resp.status < 400:
        return None
    location = resp.headers.get("Location", "")
    target = yarl.URL(location)
    if endpoint in REDIRECT_ENDPOINTS and location:
        return Redirect(str(resp.url.join(target)))
    if target.host == MIGRATED_HOST:
        raise UpstreamMigratedError(f"{endpoint}: HTTP {resp.status} to {MIGRATED_HOST}", endpoint=endpoint)
    raise UpstreamProtocolError(f"{endpoint}: unexpected HTTP {resp.status} redirect", endpoint=endpoint)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
