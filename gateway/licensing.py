"""Client licences: keys are stored only as SHA-256 hashes and looked up by hash.

Keys are 32 random bytes, so a fast hash is enough (a slow password hash such as bcrypt defends
low-entropy secrets, and would cost milliseconds on every request). The :class:`LicenceRegistry`
is the live view a running gateway authenticates against: a dict by key hash (current keys, and
rotated-out keys until their grace ends), rebuilt from the store when its licences revision
changes. Rules for changing licences live in ``service/licence_book.py``; this module only reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import structlog

from gateway.config import LicenceSettings
from gateway.domain import LicenceDefinition
from gateway.errors import (
    LicenceDisabledError,
    LicenceExpiredError,
    LicenceRevokedError,
    PermissionDeniedError,
)
from gateway.store.base import LICENCES_TOPIC, LicenceStore

KEY_PREFIX = "sk-flow-"
MAX_KEY_LENGTH = 512  # longer "keys" are refused before hashing: nobody's key is that long
log = structlog.get_logger("gateway.licensing")

# What a request carries once authenticated: the licence's whole definition (its limits, budgets,
# models; never the key itself, only its hash).
Licence = LicenceDefinition


class LicenceLookup(Protocol):
    """Finds the licence for a presented key, and says whether it may be used now."""

    def authenticate(self, key: str) -> Licence | None:
        """The licence, or None when the key is unknown."""
        ...

    def ensure_usable(self, licence: Licence) -> None:
        """Raise the 403 that applies to a revoked, disabled or expired licence."""
        ...


def new_licence_key() -> str:
    """A fresh key: ``sk-flow-`` and 43 URL-safe characters (32 random bytes)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The hex SHA-256 stored in place of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_hint(key: str) -> str:
    """Enough of a key to recognise it in a listing, never enough to use it: ``sk-flow-Ab…yz``."""
    body = key.removeprefix(KEY_PREFIX)
    return f"{key[: len(key) - len(body)]}{body[:2]}…{body[-2:]}" if len(body) >= 16 else "***"


def config_licence(entry: LicenceSettings) -> LicenceDefinition:
    """The bare definition of a config file licence (its id, name and key hash)."""
    return LicenceDefinition(entry.id, entry.name or entry.id, entry.key_sha256, source="config")


def licence_status(licence: Licence, now: float) -> str:
    """``active``, or why not: ``revoked`` (checked first: it is final), ``disabled``, ``expired``."""
    if licence.revoked_at:
        return "revoked"
    if not licence.enabled:
        return "disabled"
    if licence.expires_at and licence.expires_at <= now:
        return "expired"
    return "active"


_REFUSALS: dict[str, tuple[type[PermissionDeniedError], str]] = {
    "revoked": (LicenceRevokedError, "has been revoked"),
    "disabled": (LicenceDisabledError, "is disabled"),
    "expired": (LicenceExpiredError, "has expired"),
}


def refusal(licence: Licence, now: float) -> PermissionDeniedError | None:
    """The 403 for a licence that may not be used at ``now``, or None."""
    found = _REFUSALS.get(licence_status(licence, now))
    if found is None:
        return None
    cls, why = found
    return cls(f"The licence {licence.id!r} {why}.")


class LicenceRegistry:
    """Licences by key hash, kept equal to the store (or to a fixed list, in tests)."""

    def __init__(
        self, entries: Sequence[LicenceSettings] = (), *, clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._by_hash: dict[str, tuple[Licence, float]] = {}  # hash -> (licence, valid until)
        self._by_id: dict[str, Licence] = {}
        self._revision = -1
        self._lock = asyncio.Lock()
        self.replace(config_licence(e) for e in entries)

    def __len__(self) -> int:
        return len(self._by_id)

    def authenticate(self, key: str) -> Licence | None:
        """The licence whose current key (or rotated-out key, within its grace) is ``key``."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        found = self._by_hash.get(hash_key(key))
        if found is None:
            return None
        licence, until = found
        if until != math.inf and until <= self._clock():
            return None  # a rotated-out key past its grace is just an unknown key
        return licence

    def ensure_usable(self, licence: Licence) -> None:
        """Raise 403 ``licence_revoked`` / ``licence_disabled`` / ``licence_expired`` when it applies."""
        problem = refusal(licence, self._clock())
        if problem is not None:
            raise problem

    def get(self, licence_id: str) -> Licence | None:
        """A licence by id, as this process knows it now (revoked ones included)."""
        return self._by_id.get(licence_id)

    def licences(self) -> list[Licence]:
        """Every licence known, oldest first."""
        return list(self._by_id.values())

    def replace(self, licences: Iterable[Licence]) -> None:
        """Know exactly these licences (one swap: a request sees the old map or the new one)."""
        ordered = list(licences)
        by_hash: dict[str, tuple[Licence, float]] = {}
        for licence in ordered:
            if licence.previous_key_sha256 and licence.previous_key_until > 0:
                by_hash[licence.previous_key_sha256] = (licence, licence.previous_key_until)
        for licence in ordered:  # current keys last: they win over any rotated-out one
            by_hash[licence.key_sha256] = (licence, math.inf)
        self._by_hash, self._by_id = by_hash, {lic.id: lic for lic in ordered}

    async def reload(self, store: LicenceStore) -> None:
        """Read every licence from the store now (after a write in this process, and at start)."""
        async with self._lock:
            revision = await store.licences_revision()
            self.replace(await store.get_licences())
            self._revision = revision

    async def sync(self, store: LicenceStore) -> bool:
        """Reload when the store's revision moved (a change by the CLI or another replica)."""
        if await store.licences_revision() == self._revision:
            return False
        await self.reload(store)
        return True

    async def run(self, store: LicenceStore, interval: float) -> None:
        """Poll for changes every ``interval`` seconds, and at once when the store hears of one made
        by another replica (Redis), until cancelled."""
        while True:
            await store.wait_for_change(LICENCES_TOPIC, interval)
            try:
                await self.sync(store)
            except (OSError, ValueError) as exc:  # the store is down: try again next time
                log.warning("licences_sync_failed", error=type(exc).__name__)
