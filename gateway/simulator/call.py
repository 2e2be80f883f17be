"""One simulated Flow call: who is calling, its parsed body, and the wrapper that adds auth checks,
latency, fault injection and statistics around every route handler.

The wrapper is the only place that acts out faults (handlers see ``call.fault_kind`` for the kinds
they play themselves, and ``job_failure``/``job_stuck`` for the job kinds; ``wire.py`` breaks the
exchange itself for the wire kinds) and the only place that records statistics and logs a line per
call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from aiohttp import web

from gateway.simulator import wire
from gateway.simulator.errors import GoogleError, invalid
from gateway.simulator.faults import (
    DEFAULT_FAILURE_REASON,
    PLAYED_KINDS,
    WIRE_KINDS,
    Fault,
    Faults,
    HangError,
    raise_fault,
)
from gateway.simulator.state import AccountState, JobFailure, Media, World
from gateway.simulator.stats import Stats
from gateway.simulator.timeline import video_status

SESSION_COOKIE = "__Secure-next-auth.session-token"
# flow.google.com's Google SSO cookies; the simulator keys accounts by the value of either (a browser
# on http://127.0.0.1 cannot hold a __Secure- cookie, so tests with a real browser send SID).
GOOGLE_COOKIES = ("__Secure-1PSID", "SID")
# Bodies Flow's hosts parse as JSON: the web client sends application/json, and text/plain;charset=UTF-8
# when a video submit is made from inside the page (flow-protocol.md §2).
JSON_CONTENT_TYPES = ("application/json", "text/plain")
HANG_POLL = wire.HANG_POLL
CLIENT_GONE = wire.CLIENT_GONE
# The internal reason a failed record names beside the public one, where a capture showed it
# (dacvuips: PUBLIC_ERROR_AUDIO_FILTERED with "AUDIO_GENERATION_FILTERED"); else the public name's tail.
INTERNAL_REASONS = {"PUBLIC_ERROR_AUDIO_FILTERED": "AUDIO_GENERATION_FILTERED"}
log = structlog.get_logger("flow.simulator")


@dataclass(slots=True)
class Call:
    """A request as a handler sees it."""

    request: web.Request
    world: World
    account: AccountState | None
    token_ok: bool = False
    token_present: bool = False
    fault: Fault | None = None  # a fault the handler plays itself (see ``_dispatch``)
    stat_name: str | None = None
    rpcid: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fault_kind(self) -> str | None:
        """The kind of the fault this call's handler plays, if any."""
        return self.fault.kind if self.fault is not None else None

    @property
    def owner(self) -> AccountState:
        """The authenticated account (routes with auth always have one)."""
        assert self.account is not None
        return self.account

    async def body(self) -> dict[str, Any]:
        """The JSON object body (sent as application/json or text/plain), or 400."""
        if self.request.content_type not in JSON_CONTENT_TYPES:
            raise invalid(
                f"Invalid JSON payload received. Unsupported Content-Type {self.request.content_type!r}."
            )
        raw = await self.request.read()
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise invalid("Invalid JSON payload received.") from None
        if not isinstance(doc, dict):
            raise invalid("Invalid JSON payload received. Expected an object.")
        return doc

    def job_failure(self) -> JobFailure | None:
        """How the video job this call creates fails (``video_failed`` / ``video_cancelled``), or None."""
        fault = self.fault
        if fault is None or fault.kind not in ("video_failed", "video_cancelled"):
            return None
        if fault.kind == "video_cancelled":
            return JobFailure([5], 1, "The operation was cancelled.")
        reason = fault.reason or DEFAULT_FAILURE_REASON
        internal = INTERNAL_REASONS.get(reason, reason.removeprefix("PUBLIC_ERROR_"))
        return JobFailure([fault.code or 4, [3, reason], [internal], [1]], reason=reason)

    def video_status(self, media: Media) -> str:
        """Where a video job stands now (the world's time)."""
        return video_status(media, self.world.config, self.world.now())

    @property
    def job_stuck(self) -> bool:
        """True when the video job this call creates must never finish (a ``video_stuck`` fault)."""
        return self.fault_kind == "video_stuck"

    def user_agent(self) -> str:
        """The caller's User-Agent."""
        return self.request.headers.get("User-Agent", "")

    def origin(self) -> str:
        """This simulator's origin as the caller reached it (used in media URLs)."""
        return f"{self.request.scheme}://{self.request.host}"


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    """A route of the fake: method, path, fault/stats name, how it authenticates, its handler."""

    method: str
    path: str
    name: str
    auth: str
    handler: Handler
    generation: bool = False
    faults_as_frames: bool = False
    own_faults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the wrapper needs from the simulator; ``closing`` is set when the app shuts down."""

    world: World
    faults: Faults
    stats: Stats
    closing: asyncio.Event


def wrap(route: Route, runtime: Runtime) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``route``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        call = Call(request, runtime.world, None)
        try:
            call.account = _authenticate(route, request, runtime.world)
            response = await _run(route, runtime, call)
        except GoogleError as exc:
            response = exc.response()
        except asyncio.CancelledError:
            _record(runtime, route, call, 499)  # the client gave up (a hang fault, a timeout)
            raise
        _record(runtime, route, call, response.status)
        return response

    return handle


def _fault_route(route: Route, request: web.Request) -> str:
    """Fault and stats name: batchexecute calls are named per RPC (``batch.ogiZ0b``)."""
    if route.faults_as_frames:
        return f"batch.{request.query.get('rpcids', '')}"
    return route.name


def _record(runtime: Runtime, route: Route, call: Call, status: int) -> None:
    email = call.account.spec.email if call.account else None
    name = call.stat_name or _fault_route(route, call.request)
    runtime.stats.record(
        name,
        email,
        status=status,
        with_token=call.token_ok,
        token_present=call.token_present or call.token_ok,
    )
    log.info(
        "flow_call",
        route=name,
        method=call.request.method,
        path=call.request.path,
        account=email,
        status=status,
        recaptcha_ok=call.token_ok,
    )


def _authenticate(route: Route, request: web.Request, world: World) -> AccountState | None:
    if route.auth == "bearer":
        return world.bearer(request.headers.get("Authorization"))
    if route.auth == "cookie":
        return world.session(request.cookies.get(SESSION_COOKIE))
    if route.auth == "google":
        value = next((request.cookies[name] for name in GOOGLE_COOKIES if name in request.cookies), None)
        return world.session(value)
    return None


async def _run(route: Route, runtime: Runtime, call: Call) -> web.StreamResponse:
    email = call.account.spec.email if call.account else None
    if route.generation and email:
        runtime.stats.enter(email)
    try:
        try:
            return await _dispatch(route, runtime, call)
        except HangError:
            return await _hold(call.request, runtime.closing)
    finally:
        if route.generation and email:
            runtime.stats.leave(email)


async def _dispatch(route: Route, runtime: Runtime, call: Call) -> web.StreamResponse:
    delay = runtime.world.config.route_latency.get(route.name, runtime.world.config.latency)
    if delay > 0:
        await asyncio.sleep(delay)
    identities = (call.account.spec.session_token, call.account.spec.email) if call.account else ()
    fault = runtime.faults.take(_fault_route(route, call.request), identities)
    if fault is not None and fault.kind in WIRE_KINDS:
        return await wire.play(
            fault,
            call.request,
            lambda: _answer(route, call),
            closing=runtime.closing,
            noise=runtime.faults.noise,
        )
    if fault is not None and (
        fault.kind in PLAYED_KINDS or route.faults_as_frames or fault.kind in route.own_faults
    ):
        call.fault = fault
    elif fault is not None:
        await raise_fault(fault)
    return await route.handler(call)


async def _answer(route: Route, call: Call) -> web.StreamResponse:
    """The handler's answer, an error answer included (a wire fault breaks whichever it is)."""
    try:
        return await route.handler(call)
    except GoogleError as exc:
        return exc.response()


async def _hold(request: web.Request, closing: asyncio.Event) -> web.StreamResponse:
    """A hung call: no answer until the client gives up (then 499) or the simulator shuts down (503).

    aiohttp does not cancel a handler whose client left, so the wait watches the transport itself;
    shutdown sets ``closing`` so no hung handler outlives the server.
    """
    while not closing.is_set():
        if wire.gone(request):
            return web.Response(status=CLIENT_GONE)
        await asyncio.sleep(HANG_POLL)  # a plain sleep: a cancelled handler stops at once
    raise GoogleError(503, "UNAVAILABLE", "The service is shutting down.")
