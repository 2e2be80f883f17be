"""Licences in the store: create, change, rotate, revoke, and the config file's share.

The book is the one place that turns what an operator asked for (:class:`LicenceInput`, from the
admin API, the CLI or the config file) into stored :class:`LicenceDefinition`\\ s: it makes keys
and webhook secrets (returned once, the key kept only as its SHA-256 and a hint), applies the
field rules (``licence_rules.py``), keeps config licences owned by the file, and records every
change in the audit trail. It works on the store alone, so the CLI can use it with no gateway
running; ``on_change`` lets a running gateway refresh its registry at once after a write.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from gateway.config import ConfigError, LicenceSettings
from gateway.domain import LicenceDefinition
from gateway.errors import ConflictError, InvalidRequestError, NotFoundError
from gateway.licensing import hash_key, key_hint, new_licence_key
from gateway.service.audit import ACTOR_CONFIG, AuditTrail
from gateway.service.licence_rules import EDITABLE, LicenceInput, input_from_settings, merged
from gateway.store.base import Store

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret (Standard Webhooks: then base64)
WEBHOOK_SECRET_BYTES = 24
MIN_WEBHOOK_SECRET_BYTES = 16
MAX_GRACE = 30 * 86400.0
DEFAULT_GRACE = 3600.0
Changed = Callable[[], Awaitable[None]]


def new_webhook_secret() -> str:
    """``whsec_`` and the base64 of 24 random bytes (what Standard Webhooks receivers expect)."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(WEBHOOK_SECRET_BYTES)).decode()


def new_licence_id() -> str:
    """``lic_`` and 16 hex characters (not derived from the key: the key changes on rotation)."""
    return "lic_" + secrets.token_hex(8)


def check_webhook_secret(value: str) -> None:
    """A secret an operator wrote in the config file: ``whsec_`` + base64 of at least 16 bytes."""
    try:
        raw = base64.b64decode(value.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not value.startswith(WEBHOOK_SECRET_PREFIX) or len(raw) < MIN_WEBHOOK_SECRET_BYTES:
        raise InvalidRequestError(
            "webhook_secret must be whsec_ followed by the base64 of at least 16 bytes",
            param="webhook_secret",
        )


@dataclass(frozen=True, slots=True)
class IssuedLicence:
    """A licence with the credentials just made for it: shown once, never kept in clear."""

    licence: LicenceDefinition
    key: str = ""
    webhook_secret: str = ""  # empty: unchanged


@dataclass(frozen=True, slots=True)
class Rotation:
    """A rotation's terms: how long the old key keeps working (None: the configured grace), and
    whether the webhook secret is replaced too."""

    grace_seconds: float | None = None
    webhook_secret: bool = False


class LicenceBook:
    """Licence definitions kept in a ``Store``."""

    def __init__(
        self,
        store: Store,
        *,
        audit: AuditTrail | None = None,
        grace: float = DEFAULT_GRACE,
        clock: Callable[[], float] = time.time,
        on_change: Changed | None = None,
    ) -> None:
        self._store = store
        self._audit = audit
        self._grace = grace
        self._clock = clock
        self._on_change = on_change

    async def licences(self) -> list[LicenceDefinition]:
        """Every licence, oldest first (revoked ones included)."""
        return await self._store.get_licences()

    async def get(self, licence_id: str) -> LicenceDefinition:
        """One licence, or 404."""
        licence = await self._store.get_licence(licence_id)
        if licence is not None:
            return licence
        raise NotFoundError(f"no licence with id {licence_id!r}", param="id")

    async def create(self, wanted: LicenceInput) -> IssuedLicence:
        """A new licence with a fresh key and webhook secret (returned here, and never again)."""
        key, secret, now = new_licence_key(), new_webhook_secret(), self._clock()
        base = LicenceDefinition(
            id=new_licence_id(),
            name="",
            key_sha256=hash_key(key),
            key_hint=key_hint(key),
            webhook_secret=secret,
            created_at=now,
            updated_at=now,
        )
        licence = merged(base, wanted)
        await self._saved("licence.create", None, licence)
        return IssuedLicence(licence, key, secret)

    async def update(self, licence_id: str, wanted: LicenceInput) -> LicenceDefinition:
        """Change the fields given (PATCH: the others stay)."""
        current = await self._changeable(licence_id)
        changed = merged(current, wanted)
        if changed == current:
            return current  # nothing to write, nothing to audit
        changed = replace(changed, updated_at=self._clock())
        await self._saved(_update_action(wanted), current, changed)
        return changed

    async def set_enabled(self, licence_id: str, *, enabled: bool) -> LicenceDefinition:
        """Disable (its key answers 403 ``licence_disabled``), or enable again."""
        return await self.update(licence_id, LicenceInput(enabled=enabled))

    async def rotate(self, licence_id: str, rotation: Rotation | None = None) -> IssuedLicence:
        """A new key; the old one keeps working for the grace (0: stops at once)."""
        rotation = rotation or Rotation()
        current = await self._changeable(licence_id)
        grace = self._grace if rotation.grace_seconds is None else rotation.grace_seconds
        if not 0 <= grace <= MAX_GRACE:
            raise InvalidRequestError(
                f"grace_seconds must be from 0 to {MAX_GRACE:.0f}", param="grace_seconds"
            )
        key, now = new_licence_key(), self._clock()
        secret = new_webhook_secret() if rotation.webhook_secret else ""
        rotated = replace(
            current,
            key_sha256=hash_key(key),
            key_hint=key_hint(key),
            previous_key_sha256=current.key_sha256 if grace > 0 else "",
            previous_key_until=now + grace if grace > 0 else 0.0,
            webhook_secret=secret or current.webhook_secret,
            updated_at=now,
        )
        await self._saved("licence.rotate", current, rotated)
        return IssuedLicence(rotated, key, secret)

    async def revoke(self, licence_id: str) -> LicenceDefinition:
        """Revoke: every key of the licence stops at once; the row stays for its usage history."""
        current = await self.get(licence_id)
        if current.revoked_at:
            return current  # revoking twice changes nothing
        _not_from_config(current)
        revoked = _revoked(current, self._clock())
        await self._saved("licence.revoke", current, revoked)
        return revoked

    async def sync_config(self, entries: Sequence[LicenceSettings]) -> list[LicenceDefinition]:
        """Write the config file's licences (the file wins for them); revoke those it no longer
        declares. A broken entry is a ``ConfigError`` naming it."""
        stored = {lic.id: lic for lic in await self._store.get_licences()}
        declared = [self._declared(i, entry, stored.get(entry.id)) for i, entry in enumerate(entries)]
        _check_unique(declared)
        audit = self._audit.as_actor(ACTOR_CONFIG) if self._audit else None
        writes: list[tuple[str, LicenceDefinition | None, LicenceDefinition]] = [
            ("licence.create" if stored.get(lic.id) is None else "licence.update", stored.get(lic.id), lic)
            for lic in declared
            if stored.get(lic.id) != lic
        ]
        ids, now = {lic.id for lic in declared}, self._clock()
        for old in stored.values():
            if old.source == "config" and old.id not in ids and not old.revoked_at:
                writes.append(("licence.revoke", old, _revoked(old, now)))
        for action, before, after in writes:
            await self._write(action, before, after, audit)
        if writes and self._on_change is not None:
            await self._on_change()
        return declared

    def _declared(
        self, index: int, entry: LicenceSettings, old: LicenceDefinition | None
    ) -> LicenceDefinition:
        """The stored form of config entry ``index`` (``old`` itself when nothing changed)."""
        try:
            if entry.webhook_secret:
                check_webhook_secret(entry.webhook_secret)
            base = LicenceDefinition(
                id=entry.id,
                name=entry.name or entry.id,
                key_sha256=entry.key_sha256,
                source="config",
                # none in the file: webhooks are signed with the server's [webhooks] secret, which
                # the operator can read (a secret generated here would be shown to nobody)
                webhook_secret=entry.webhook_secret,
                created_at=old.created_at if old else self._clock(),
                updated_at=old.updated_at if old else self._clock(),
            )
            fresh = merged(base, replace(input_from_settings(entry), name=entry.name or entry.id))
        except InvalidRequestError as exc:
            raise ConfigError(
                f"invalid configuration: licences[{index}].{exc.param or 'id'}: {exc.message}"
            ) from None
        if old is not None and fresh == old:
            return old
        return replace(fresh, updated_at=self._clock()) if old is not None else fresh

    async def _changeable(self, licence_id: str) -> LicenceDefinition:
        current = await self.get(licence_id)
        _not_from_config(current)
        if current.revoked_at:
            raise ConflictError(f"licence {licence_id} is revoked; create a new one", code="licence_revoked")
        return current

    async def _saved(self, action: str, before: LicenceDefinition | None, after: LicenceDefinition) -> None:
        await self._write(action, before, after, self._audit)
        if self._on_change is not None:
            await self._on_change()

    async def _write(
        self,
        action: str,
        before: LicenceDefinition | None,
        after: LicenceDefinition,
        audit: AuditTrail | None,
    ) -> None:
        await self._store.put_licence(after)
        if audit is not None:
            await audit.record(action, after.id, before=before, after=after)


def _revoked(licence: LicenceDefinition, now: float) -> LicenceDefinition:
    """Revoked at ``now``: the current key and any rotated-out one stop together."""
    return replace(licence, revoked_at=now, previous_key_sha256="", previous_key_until=0.0, updated_at=now)


def _not_from_config(licence: LicenceDefinition) -> None:
    if licence.source == "config":
        raise ConflictError(
            f"licence {licence.id} is declared in the config file: change it there", code="licence_in_config"
        )


def _check_unique(declared: list[LicenceDefinition]) -> None:
    ids: set[str] = set()
    hashes: set[str] = set()
    for index, licence in enumerate(declared):
        if licence.id in ids:
            raise ConfigError(f"invalid configuration: licences[{index}].id: duplicate id {licence.id!r}")
        if licence.key_sha256 in hashes:
            raise ConfigError(
                f"invalid configuration: licences[{index}].key_sha256: another licence has this key"
            )
        ids.add(licence.id)
        hashes.add(licence.key_sha256)


def _update_action(wanted: LicenceInput) -> str:
    """``licence.enable`` / ``licence.disable`` when that is all a change does, else ``licence.update``."""
    only_enabled = wanted.enabled is not None and all(
        getattr(wanted, name) is None for name in EDITABLE if name != "enabled"
    )
    if only_enabled:
        return "licence.enable" if wanted.enabled else "licence.disable"
    return "licence.update"
