"""The console's sessions and the wrong-key throttle, as the admin middleware and the sign-in see
them: a request's session cookie, its client address, whether its cookie must be ``Secure``.

The cookie holds only the session's random id (never the admin key, which the browser forgets once
it is exchanged): ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
sends it), ``Path=/`` (the console calls ``/admin`` and the public API), ``Max-Age`` the session's
lifetime, ``Secure`` when the request came over TLS (see :meth:`ConsoleGuard.secure`).
"""

from __future__ import annotations

from aiohttp import web

from gateway.config import Settings
from gateway.console.sessions import Session, SessionTable
from gateway.console.throttle import KeyThrottle

COOKIE = "flow_console"


def client_address(request: web.Request, *, trust_forwarded: bool) -> str:
    """Who is guessing: the peer, or behind a trusted proxy the last ``X-Forwarded-For`` entry (the
    one our proxy appended; the entries before it are whatever the client wrote)."""
    if trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return request.remote or ""


class ConsoleGuard:
    """Implements the admin middleware's ``AdminGuard`` for one app."""

    def __init__(self, settings: Settings, *, sessions: SessionTable, throttle: KeyThrottle) -> None:
        self.sessions = sessions
        self.throttle = throttle
        self.ttl = settings.console.session_ttl
        self._always_secure = settings.console.secure_cookie == "always"
        self._trust_forwarded = settings.server.trust_forwarded

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleGuard:
        """A guard with an empty session table and throttle sized by ``[console]``."""
        console = settings.console
        return cls(
            settings,
            sessions=SessionTable(ttl=console.session_ttl, capacity=console.max_sessions),
            throttle=KeyThrottle(free_attempts=console.free_attempts, max_lockout=console.max_lockout),
        )

    def session(self, request: web.Request) -> Session | None:
        """The live session the request's cookie names, or None."""
        return self.sessions.find(request.cookies.get(COOKIE, ""))

    def session_csrf(self, request: web.Request) -> str | None:
        """The CSRF token of the request's session, or None."""
        session = self.session(request)
        return session.csrf_token if session is not None else None

    def address(self, request: web.Request) -> str:
        """The request's client address, as the throttle counts it."""
        return client_address(request, trust_forwarded=self._trust_forwarded)

    def locked_for(self, request: web.Request) -> float:
        """Seconds until the request's address may present a key again."""
        return self.throttle.locked_for(self.address(request))

    def key_failed(self, request: web.Request) -> None:
        """Count a wrong key from the request's address."""
        self.throttle.failed(self.address(request))

    def key_passed(self, request: web.Request) -> None:
        """A right key from the request's address."""
        self.throttle.passed(self.address(request))

    def secure(self, request: web.Request) -> bool:
        """Whether the cookie must be ``Secure``: TLS here, or ``X-Forwarded-Proto: https`` from a
        trusted proxy, or ``secure_cookie = "always"``. Never over plain HTTP otherwise, where a
        ``Secure`` cookie would not come back and nobody could sign in (``make demo``)."""
        if self._always_secure or request.secure:
            return True
        if not self._trust_forwarded:
            return False
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return proto == "https"
