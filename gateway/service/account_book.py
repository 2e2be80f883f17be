"""Account definitions in the store: create, change, delete, import, and the config file's share.

The book is the one place that turns what an operator asked for (:class:`AccountInput`, from the
admin API, the CLI or the config file) into stored :class:`AccountDefinition`\\ s, with the rules
that apply to every path: ids derived from the credential, no duplicates, a REST account needs a
session token and a worker account a key, the config file owns the accounts it declares. Every
change is written to the audit trail it is given (tokens as hints only). It works on the store
alone, so the CLI can use it with no gateway running; the registry reflects the book in a running
pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace

from gateway.config import AccountSettings
from gateway.domain import AccountDefinition, AccountKind, Secret
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.pool.account import account_id_for, worker_account_id
from gateway.service.audit import ACTOR_CONFIG, ACTOR_WORKER, AuditTrail
from gateway.store.base import Store

TIER_LABELS = ("free", "pro", "ultra")
MAX_CONCURRENCY = 1000
# Far above any real limit; keeps numbers within what SQLite stores (a larger int was a 500).
MAX_COUNT = 1_000_000_000
MAX_WEIGHT = 1_000_000.0  # a share of the work; also keeps out infinity (stdlib JSON reads 1e400)
# Fields an AccountInput may set on a definition, and the definition field each one fills.
_EDITABLE = (
    "label",
    "groups",
    "weight",
    "proxy",
    "image_concurrency",
    "video_concurrency",
    "rpm",
    "daily_images",
    "daily_videos",
    "tier",
    "enabled",
)


@dataclass(frozen=True, slots=True)
class AccountInput:
    """What a caller asks of an account; ``None`` leaves a field as it is (or at its default)."""

    kind: AccountKind | None = None
    session_token: str | None = None
    label: str | None = None
    worker_key: str | None = None
    groups: tuple[str, ...] | None = None
    weight: float | None = None
    proxy: str | None = None
    image_concurrency: int | None = None
    video_concurrency: int | None = None
    rpm: int | None = None
    daily_images: int | None = None
    daily_videos: int | None = None
    tier: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: ids added, and ids skipped because they already existed."""

    added: tuple[str, ...]
    skipped: tuple[str, ...]


def input_from_settings(entry: AccountSettings) -> AccountInput:
    """A config file ``[[accounts]]`` entry as an input."""
    return AccountInput(
        kind=AccountKind.REST,
        session_token=entry.session_token,
        label=entry.label or None,
        groups=entry.groups,
        weight=entry.weight,
        proxy=entry.proxy,
        image_concurrency=entry.image_concurrency,
        video_concurrency=entry.video_concurrency,
        rpm=entry.rpm,
        daily_images=entry.daily_images,
        daily_videos=entry.daily_videos,
        enabled=entry.enabled,
    )


def identify(kind: AccountKind, *, session_token: str = "", worker_key: str = "") -> str:
    """The id of an account: derived from its credential, so the same account is never added twice."""
    return account_id_for(session_token) if kind is AccountKind.REST else worker_account_id(worker_key)


class AccountBook:
    """Account definitions kept in a ``Store``."""

    def __init__(
        self, store: Store, *, clock: Callable[[], float] = time.time, audit: AuditTrail | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._audit = audit

    async def definitions(self) -> list[AccountDefinition]:
        """Every definition, oldest first."""
        return await self._store.get_definitions()

    async def get(self, account_id: str) -> AccountDefinition:
        """One definition, or 404."""
        definition = await self._store.get_definition(account_id)
        if definition is not None:
            return definition
        raise NotFoundError(f"no account with id {account_id!r}")

    async def create(self, wanted: AccountInput, *, source: str = "admin") -> AccountDefinition:
        """Add an account; 400 when it exists already."""
        definition = self._new(wanted, source=source)
        if await self._store.get_definition(definition.id) is not None:
            raise InvalidRequestError(
                f"account {definition.id} exists already", param="session_token", code="account_exists"
            )
        await self._store.put_definitions([definition])
        actor = ACTOR_WORKER if source == "worker" else None  # a worker's hello, not an operator
        await self._record("account.create", definition.id, after=definition, actor=actor)
        return definition

    async def change(self, account_id: str, wanted: AccountInput) -> AccountDefinition:
        """Change an account's fields (its kind and id stay); 404 when unknown."""
        current = await self.get(account_id)
        if wanted.kind is not None and wanted.kind is not current.kind:
            raise InvalidRequestError("an account's kind cannot change", param="kind")
        if wanted.worker_key is not None and wanted.worker_key != current.worker_key:
            raise InvalidRequestError(
                "a worker account's key cannot change; add a new account", param="worker_key"
            )
        changed = _merged(current, wanted)
        if wanted.session_token is not None:
            if current.kind is not AccountKind.REST:
                raise InvalidRequestError("worker accounts have no session token", param="session_token")
            changed = replace(changed, secret=Secret(_token(wanted.session_token)))
        changed = replace(changed, updated_at=self._clock())
        await self._store.put_definitions([changed])
        await self._record(_change_action(wanted), account_id, before=current, after=changed)
        return changed

    async def delete(self, account_id: str) -> AccountDefinition:
        """Remove an account and its saved state; 404 when unknown, 400 when the config file owns it."""
        current = await self.get(account_id)
        if current.source == "config":
            raise InvalidRequestError(
                f"account {account_id} is declared in the config file: remove it there", param="id"
            )
        await self._store.delete_definition(account_id)
        await self._record("account.delete", account_id, before=current)
        return current

    async def import_many(self, wanted: Sequence[AccountInput], *, source: str = "admin") -> ImportResult:
        """Add every account not yet known (idempotent: known ones are skipped, not changed)."""
        known = {d.id for d in await self._store.get_definitions()}
        added: list[AccountDefinition] = []
        skipped: list[str] = []
        for item in wanted:
            definition = self._new(item, source=source)
            if definition.id in known:
                skipped.append(definition.id)
                continue
            known.add(definition.id)
            added.append(definition)
        if added:
            await self._store.put_definitions(added)
            # one entry for the whole import: ids only (an import may hold thousands of accounts)
            summary = {"added": [d.id for d in added], "skipped": len(skipped)}
            await self._record("account.import", "accounts", after=summary)
        return ImportResult(tuple(d.id for d in added), tuple(skipped))

    async def sync_config(self, entries: Sequence[AccountSettings]) -> list[AccountDefinition]:
        """Write the config file's accounts (the file wins for them); drop those it no longer declares."""
        stored = {d.id: d for d in await self._store.get_definitions()}
        declared = []
        for entry in entries:
            fresh = self._new(input_from_settings(entry), source="config")
            old = stored.get(fresh.id)
            if old is not None:
                unchanged = replace(fresh, created_at=old.created_at, updated_at=old.updated_at) == old
                fresh = old if unchanged else replace(fresh, created_at=old.created_at)
            declared.append(fresh)
        changed = [d for d in declared if stored.get(d.id) != d]
        if changed:
            await self._store.put_definitions(changed)
        for definition in changed:
            before = stored.get(definition.id)
            action = "account.create" if before is None else "account.update"
            await self._record(action, definition.id, before=before, after=definition, actor=ACTOR_CONFIG)
        ids = {d.id for d in declared}
        for definition in stored.values():
            if definition.source == "config" and definition.id not in ids:
                await self._store.delete_definition(definition.id)
                await self._record("account.delete", definition.id, before=definition, actor=ACTOR_CONFIG)
        return declared

    async def _record(
        self,
        action: str,
        target: str,
        *,
        before: object = None,
        after: object = None,
        actor: str | None = None,
    ) -> None:
        """Write the change to the audit trail (as ``actor`` when not the book's own)."""
        if self._audit is None:
            return
        audit = self._audit.as_actor(actor) if actor else self._audit
        await audit.record(action, target, before=before, after=after)

    def _new(self, wanted: AccountInput, *, source: str) -> AccountDefinition:
        kind = wanted.kind or AccountKind.REST
        now = self._clock()
        if kind is AccountKind.REST:
            token = _token(wanted.session_token)
            account_id = identify(kind, session_token=token)
            secret, worker_key = Secret(token), ""
        else:
            worker_key = (wanted.worker_key or "").strip()
            if not worker_key:
                raise InvalidRequestError("a worker account needs worker_key", param="worker_key")
            _single(worker_key, "worker_key")
            account_id = identify(kind, worker_key=worker_key)
            secret = Secret("")
        base = AccountDefinition(
            id=account_id,
            kind=kind,
            label=account_id,
            secret=secret,
            worker_key=worker_key,
            source=source,
            created_at=now,
            updated_at=now,
        )
        return _merged(base, wanted)


def _change_action(wanted: AccountInput) -> str:
    """``account.enable`` / ``account.disable`` when that is all a change does, else ``account.update``."""
    others = (getattr(wanted, f.name) for f in fields(AccountInput) if f.name != "enabled")
    if wanted.enabled is not None and all(value is None for value in others):
        return "account.enable" if wanted.enabled else "account.disable"
    return "account.update"


def _token(value: str | None) -> str:
    token = (value or "").strip()
    if not token:
        raise InvalidRequestError("a REST account needs session_token", param="session_token")
    return _single(token, "session_token")


def _single(credential: str, param: str) -> str:
    """A credential as one token: it travels in HTTP headers, where a space or a control character
    would be refused by the client at every call (and once stopped the account refresher)."""
    if any(c.isspace() or not c.isprintable() for c in credential):
        raise InvalidRequestError(
            f"{param} must be a single credential (no spaces or control characters)", param=param
        )
    return credential


def _merged(current: AccountDefinition, wanted: AccountInput) -> AccountDefinition:
    """``current`` with every field ``wanted`` sets."""
    names = {f.name for f in fields(AccountDefinition)}
    changes: dict[str, object] = {}
    for name in _EDITABLE:
        value = getattr(wanted, name)
        if value is None or name not in names:
            continue
        if name == "groups":
            value = tuple(dict.fromkeys(g.strip().lower() for g in value if g.strip()))
        elif name == "label":
            value = value.strip() or current.id
        changes[name] = value
    if "tier" in changes and changes["tier"] not in ("", *TIER_LABELS):
        raise InvalidRequestError(f"tier must be one of {', '.join(TIER_LABELS)} (or empty)", param="tier")
    merged = replace(current, **changes)  # type: ignore[arg-type]
    _check_numbers(merged)
    return merged


def _check_numbers(definition: AccountDefinition) -> None:
    if not definition.weight > 0:
        raise InvalidRequestError("weight must be greater than 0", param="weight")
    if not definition.weight <= MAX_WEIGHT:
        raise InvalidRequestError(f"weight must be at most {MAX_WEIGHT:.0f}", param="weight")
    for name in ("image_concurrency", "video_concurrency"):
        if not 0 <= getattr(definition, name) <= MAX_CONCURRENCY:
            raise InvalidRequestError(f"{name} must be from 0 to {MAX_CONCURRENCY}", param=name)
    for name in ("rpm", "daily_images", "daily_videos"):
        if getattr(definition, name) < 0:
            raise InvalidRequestError(f"{name} must be 0 (no limit) or more", param=name)
        if getattr(definition, name) > MAX_COUNT:
            raise InvalidRequestError(f"{name} must be at most {MAX_COUNT}", param=name)
