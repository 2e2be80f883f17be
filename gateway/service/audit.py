"""The audit trail: who changed what, when, with the object before and after, and never a secret.

Every change an operator makes (admin API, CLI, the config file at start) to a licence or an
account is recorded here by the book that makes it, so no change path can forget it. Objects are
turned into plain JSON documents by :func:`public_doc`, the one place that decides what of a
credential may be kept: hashes are dropped, keys, tokens and secrets become a hint, a proxy loses
its password.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Callable, Mapping

import yarl

from gateway.domain import AuditEntry, Secret
from gateway.store.base import AuditStore

# Fields never written, not even as a hint: a hash of a key is as good as the key for an offline
# guess against a weak one, and says nothing an operator needs.
_DROPPED = frozenset({"key_sha256", "previous_key_sha256"})
# Fields whose value is a credential: kept as a hint that tells two apart and cannot be used.
_HINTED = frozenset({"key", "secret", "session_token", "webhook_secret", "worker_key", "token", "password"})
HINT_TAIL = 4

ACTOR_ADMIN_API = "admin-api"
ACTOR_CLI = "cli"
ACTOR_CONFIG = "config"
ACTOR_WORKER = "worker"  # a browser worker's hello registered an account


def credential_hint(value: str) -> str:
    """The end of a credential (``…x9Qw``), or ``""``; short ones give nothing away (``***``)."""
    if not value:
        return ""
    return f"…{value[-HINT_TAIL:]}" if len(value) >= 6 * HINT_TAIL else "***"


def masked_url(value: str) -> str:
    """A URL with its password replaced (proxies carry one)."""
    if not value:
        return ""
    url = yarl.URL(value)
    return str(url.with_password("***")) if url.password else value


def public_doc(value: object) -> dict[str, object] | None:
    """A dataclass or mapping as a JSON-ready document without secrets (None stays None)."""
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif isinstance(value, Mapping):
        items = dict(value)
    else:
        raise TypeError(f"cannot audit a {type(value).__name__}")
    return {str(k): _field(str(k), v) for k, v in items.items() if str(k) not in _DROPPED}


def _field(name: str, value: object) -> object:
    if name in _HINTED or isinstance(value, Secret):
        return credential_hint(value.reveal() if isinstance(value, Secret) else str(value or ""))
    if name == "proxy" and isinstance(value, str):
        return masked_url(value)
    return _plain(value)


def _plain(value: object) -> object:
    """JSON-native values (lists, not tuples; enums as their values), so every backend returns
    exactly what was recorded."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping) or dataclasses.is_dataclass(value):
        return public_doc(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class AuditTrail:
    """Records changes as one actor (``admin-api``, ``cli``, ``config``, ``worker``)."""

    def __init__(self, store: AuditStore, *, actor: str, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._actor = actor
        self._clock = clock

    @property
    def actor(self) -> str:
        """Who the entries name."""
        return self._actor

    def as_actor(self, actor: str) -> AuditTrail:
        """The same trail, recording as someone else (the config file at start, a worker's hello)."""
        return AuditTrail(self._store, actor=actor, clock=self._clock)

    async def record(
        self, action: str, target: str, *, before: object = None, after: object = None
    ) -> AuditEntry:
        """Append one change; ``before``/``after`` are the object (or a summary mapping) around it."""
        entry = AuditEntry(
            at=self._clock(),
            actor=self._actor,
            action=action,
            target=target,
            before=public_doc(before),
            after=public_doc(after),
        )
        return await self._store.add_audit(entry)

    async def entries(self, *, after: int = 0, limit: int = 100, target: str = "") -> list[AuditEntry]:
        """Recorded entries after ``after``, oldest first."""
        return await self._store.list_audit(after=after, limit=limit, target=target)
