"""Signed-in console browsers: a session table in this process's memory.

A session is a random id (the cookie's value, 256 bits) with its own CSRF token, both made here
and never derived from the admin key. The table keeps only the id's SHA-256, so a memory dump or a
debugger shows no usable cookie. Sessions expire ``ttl`` seconds after signing in, whatever the use
(an operator signs in again once a day rather than a stolen cookie living for ever), and signing
out removes the entry at once. The table holds at most ``capacity`` sessions: past it the oldest is
signed out, so a flood of sign-ins (each needs the admin key anyway) costs bounded memory.

In memory rather than in the store: a session is worth less than the minute it takes to sign in
again, so a restart signing operators out is acceptable, and the store then never holds a
credential of the console. Several replicas behind one admin address need sticky routing (or one
replica serving the admin listener); see the console's README section.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

TOKEN_BYTES = 32  # 256 bits: a guessed id or CSRF token is out of reach
MAX_ID_LENGTH = 128  # a longer cookie is not ours (and is not hashed)


@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser: the CSRF token its state-changing calls must carry, and its lifetime."""

    csrf_token: str
    created_at: float
    expires_at: float

    def accepts(self, csrf_token: str) -> bool:
        """True when ``csrf_token`` is this session's (compared in constant time)."""
        return bool(csrf_token) and hmac.compare_digest(csrf_token.encode(), self.csrf_token.encode())


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionTable:
    """Sessions by the SHA-256 of their id, oldest first (``ttl`` is fixed, so also by expiry)."""

    def __init__(self, *, ttl: float, capacity: int, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self) -> tuple[str, Session]:
        """A new session: its id (for the cookie; the table keeps only its hash) and the session."""
        now = self._clock()
        self._drop_expired(now)
        while len(self._sessions) >= self._capacity:
            self._sessions.popitem(last=False)  # the oldest signs in again; the newest is the operator
        session_id = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(secrets.token_urlsafe(TOKEN_BYTES), created_at=now, expires_at=now + self._ttl)
        self._sessions[_digest(session_id)] = session
        return session_id, session

    def find(self, session_id: str) -> Session | None:
        """The live session with this id, or None (unknown, expired or signed out)."""
        if not session_id or len(session_id) > MAX_ID_LENGTH:
            return None
        digest = _digest(session_id)
        session = self._sessions.get(digest)
        if session is not None and session.expires_at <= self._clock():
            del self._sessions[digest]
            return None
        return session

    def close(self, session_id: str) -> bool:
        """Sign this session out; True when it was live."""
        if not session_id or len(session_id) > MAX_ID_LENGTH:
            return False
        return self._sessions.pop(_digest(session_id), None) is not None

    def _drop_expired(self, now: float) -> None:
        while self._sessions:
            digest, oldest = next(iter(self._sessions.items()))
            if oldest.expires_at > now:
                return
            del self._sessions[digest]
