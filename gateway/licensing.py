"""Client licences: keys are stored only as SHA-256 hashes and looked up by hash.

Keys are 32 random bytes, so a fast hash is enough (a slow password hash such as bcrypt defends
low-entropy secrets, and would cost milliseconds on every request). Behind the small
``LicenceLookup`` Protocol so a store-backed registry (budgets, usage, an admin API) can replace
this config-backed one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Protocol

from gateway.config import LicenceSettings
from gateway.domain import LicenceDefinition

KEY_PREFIX = "sk-flow-"


# What a request carries once authenticated: the licence's whole definition (its limits, budgets,
# models; never the key itself, only its hash).
Licence = LicenceDefinition


class LicenceLookup(Protocol):
    """Finds the licence for a presented key."""

    def authenticate(self, key: str) -> Licence | None:
        """The licence, or None when the key is unknown."""
        ...


def new_licence_key() -> str:
    """A fresh key: ``sk-flow-`` and 43 URL-safe characters (32 random bytes)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The hex SHA-256 stored in place of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


class LicenceRegistry:
    """Licences from the configuration, by key hash."""

    def __init__(self, entries: Sequence[LicenceSettings]) -> None:
        self._by_hash = {
            e.key_sha256: LicenceDefinition(e.id, e.name or e.id, e.key_sha256, source="config")
            for e in entries
        }

    def authenticate(self, key: str) -> Licence | None:
        """The licence whose hash matches ``key``."""
        if not key or len(key) > 512:
            return None
        return self._by_hash.get(hash_key(key))
