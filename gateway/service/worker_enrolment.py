"""Worker enrolment: a one-time token per browser worker, in place of the shared worker secret.

An operator enrols a worker (admin API, console) and is shown its token once (``fwe_…``); the
worker presents it where it presented the shared secret (``?key=`` or ``Authorization: Bearer``
on the socket), so neither the extension nor the Playwright worker changes. Only the token's
SHA-256 is kept, in the store's secrets: one record per token (what a connecting worker is checked
against: one read, no race with other replicas) and an index for listing. Revoking one refuses it
at once and closes this replica's sockets that presented it (another replica's close when the
worker next connects). The shared ``[workers] secret`` keeps working as a fallback.

This module knows nothing of HTTP: a socket is registered as a close function.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, replace

import orjson

from gateway.errors import InvalidRequestError, NotFoundError
from gateway.service.audit import AuditTrail
from gateway.store.base import Store

TOKEN_PREFIX = "fwe_"  # noqa: S105 - a prefix that tells a token apart, not a secret
INDEX = "worker_enrolments"  # the store secret holding every enrolment (hashes only)
RECORD = "worker_enrolment:"  # + the token's SHA-256: the record a connecting worker is checked against
MAX_NAME = 100
HINT_TAIL = 4
Close = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Enrolment:
    """One enrolled worker: its name, a hint of its token, and whether it was revoked."""

    id: str
    name: str
    token_sha256: str
    token_hint: str
    created_at: float
    revoked_at: float = 0.0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _name(raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise InvalidRequestError(f"name must be 1 to {MAX_NAME} printable characters", param="name")
    return name


class WorkerEnrolments:
    """Enrolments in the store, and the sockets of this replica that presented each."""

    def __init__(self, store: Store, *, audit: AuditTrail, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock
        self._lock = asyncio.Lock()  # index read-modify-writes of this replica, one at a time
        self._live: dict[str, set[Close]] = {}

    async def entries(self) -> list[Enrolment]:
        """Every enrolment, oldest first (revoked ones too: they say who once was enrolled)."""
        raw = await self._store.get_secret(INDEX)
        return [Enrolment(**doc) for doc in orjson.loads(raw)] if raw else []

    async def create(self, name: str) -> tuple[Enrolment, str]:
        """A new enrolment and its token (shown once: only its hash is kept)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        enrolment = Enrolment(
            id=f"enr_{secrets.token_hex(6)}",
            name=_name(name),
            token_sha256=_digest(token),
            token_hint=f"…{token[-HINT_TAIL:]}",
            created_at=self._clock(),
        )
        async with self._lock:
            await self._store.set_secret(
                RECORD + enrolment.token_sha256, orjson.dumps(asdict(enrolment)).decode()
            )
            await self._save([*await self.entries(), enrolment])
        await self._audit.record("worker.enrol", enrolment.id, after=_summary(enrolment))
        return enrolment, token

    async def revoke(self, enrolment_id: str) -> Enrolment:
        """Refuse the enrolment's token from now on and close this replica's sockets that used it."""
        async with self._lock:
            every = await self.entries()
            current = next((e for e in every if e.id == enrolment_id), None)
            if current is None:
                raise NotFoundError(f"No worker enrolment '{enrolment_id}'.", param="enrolment_id")
            if current.revoked_at:
                return current
            revoked = replace(current, revoked_at=self._clock())
            await self._store.set_secret(
                RECORD + revoked.token_sha256, orjson.dumps(asdict(revoked)).decode()
            )
            await self._save([revoked if e.id == enrolment_id else e for e in every])
        await self._audit.record(
            "worker.revoke", enrolment_id, before=_summary(current), after=_summary(revoked)
        )
        for close in list(self._live.pop(enrolment_id, ())):
            await close()
        return revoked

    async def verify(self, token: str) -> Enrolment | None:
        """The live enrolment ``token`` belongs to, or None (unknown, revoked, not a token)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 2 * len(TOKEN_PREFIX) + 64:
            return None
        raw = await self._store.get_secret(RECORD + _digest(token))
        if raw is None:
            return None
        enrolment = Enrolment(**orjson.loads(raw))
        return None if enrolment.revoked_at else enrolment

    async def exist(self) -> bool:
        """True once any worker was enrolled and not revoked (the worker socket is then open)."""
        return any(not e.revoked_at for e in await self.entries())

    @contextlib.contextmanager
    def attached(self, enrolment_id: str, close: Close) -> Iterator[None]:
        """Register a socket of this enrolment for as long as it is open (revoking closes it)."""
        live = self._live.setdefault(enrolment_id, set())
        live.add(close)
        try:
            yield
        finally:
            live.discard(close)
            if not live and self._live.get(enrolment_id) is live:
                del self._live[enrolment_id]

    def connected(self, enrolment_id: str) -> int:
        """Sockets of this replica open with this enrolment's token now."""
        return len(self._live.get(enrolment_id, ()))

    async def _put(self, enrolment: Enrolment) -> None:
        await self._store.set_secret(
            RECORD + enrolment.token_sha256, orjson.dumps(asdict(enrolment)).decode()
        )

    async def _save(self, every: list[Enrolment]) -> None:
        await self._store.set_secret(INDEX, orjson.dumps([asdict(e) for e in every]).decode())


def _summary(enrolment: Enrolment) -> dict[str, object]:
    """What the audit trail keeps: never the token nor its hash."""
    return {
        "id": enrolment.id,
        "name": enrolment.name,
        "token_hint": enrolment.token_hint,
        "revoked_at": enrolment.revoked_at,
    }
