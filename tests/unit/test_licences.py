"""Licences: the book's rules, rotation and revocation against a fake clock, the live registry, the
config file's share, and an audit trail that never holds a secret."""

from __future__ import annotations

import base64
import contextlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gateway.admin.licence_schemas import parse_licence, parse_rotation
from gateway.config import ConfigError, LicenceSettings, load_settings, parse_listen
from gateway.domain import AccountKind
from gateway.errors import (
    ConflictError,
    InvalidRequestError,
    LicenceDisabledError,
    LicenceExpiredError,
    LicenceRevokedError,
    NotFoundError,
)
from gateway.licensing import LicenceRegistry, hash_key, new_licence_key
from gateway.service.account_book import AccountBook, AccountInput
from gateway.service.audit import AuditTrail, public_doc
from gateway.service.licence_book import LicenceBook, Rotation, new_webhook_secret
from gateway.service.licence_rules import LicenceInput
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import open_sqlite_store


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def registry(clock: FakeClock) -> LicenceRegistry:
    return LicenceRegistry(clock=clock)


@pytest.fixture
def book(store: MemoryStore, clock: FakeClock, registry: LicenceRegistry) -> LicenceBook:
    async def refresh() -> None:
        await registry.reload(store)

    audit = AuditTrail(store, actor="admin-api", clock=clock)
    return LicenceBook(store, audit=audit, grace=60.0, clock=clock, on_change=refresh)


async def test_create_returns_the_key_once_and_stores_only_its_hash(
    book: LicenceBook, store: MemoryStore, registry: LicenceRegistry
) -> None:
    issued = await book.create(LicenceInput(name="Team A", models=("veo_3_1*",), daily_credits=100))
    licence = issued.licence
    assert issued.key.startswith("sk-flow-") and licence.key_sha256 == hash_key(issued.key)
    assert licence.key_hint == f"sk-flow-{issued.key[8:10]}…{issued.key[-2:]}"
    assert issued.webhook_secret.startswith("whsec_")
    assert len(base64.b64decode(issued.webhook_secret.removeprefix("whsec_"))) == 24
    assert licence.id.startswith("lic_") and licence.source == "admin" and licence.created_at == 1_000.0
    assert issued.key not in repr(await store.get_licences())
    assert registry.authenticate(issued.key) == licence  # live at once: no poll needed


async def test_rotation_keeps_the_old_key_for_the_grace_only(
    book: LicenceBook, registry: LicenceRegistry, clock: FakeClock
) -> None:
    first = await book.create(LicenceInput(name="rotating"))
    second = await book.rotate(first.licence.id)  # the configured grace: 60 s
    assert second.key != first.key and not second.webhook_secret  # the secret stays unless asked
    assert second.licence.webhook_secret == first.licence.webhook_secret
    assert registry.authenticate(first.key) == registry.authenticate(second.key) == second.licence
    clock.now += 59.9
    assert registry.authenticate(first.key) is not None
    clock.now += 0.1
    assert registry.authenticate(first.key) is None  # past its grace: an unknown key (401)
    assert registry.authenticate(second.key) == second.licence
    third = await book.rotate(first.licence.id, Rotation(grace_seconds=0, webhook_secret=True))
    assert registry.authenticate(second.key) is None  # no grace: it stops at once
    assert third.webhook_secret.startswith("whsec_") and third.licence.webhook_secret == third.webhook_secret
    with pytest.raises(InvalidRequestError) as bad:
        await book.rotate(first.licence.id, Rotation(grace_seconds=-1))
    assert bad.value.param == "grace_seconds"


async def test_revoke_disable_and_expiry_refuse_at_once_with_their_codes(
    book: LicenceBook, registry: LicenceRegistry, clock: FakeClock
) -> None:
    issued = await book.create(LicenceInput(name="x", expires_at=clock.now + 100))
    licence_id = issued.licence.id

    def refused(key: str = issued.key) -> type[Exception] | None:
        found = registry.authenticate(key)
        assert found is not None  # a known key: 403 with a reason, never 401
        try:
            registry.ensure_usable(found)
        except (LicenceRevokedError, LicenceDisabledError, LicenceExpiredError) as exc:
            return type(exc)
        return None

    assert refused() is None
    await book.set_enabled(licence_id, enabled=False)
    assert refused() is LicenceDisabledError
    await book.set_enabled(licence_id, enabled=True)
    assert refused() is None
    clock.now += 100  # expires with no write at all
    assert refused() is LicenceExpiredError
    await book.update(licence_id, LicenceInput(expires_at=0))
    assert refused() is None
    rotated = await book.rotate(licence_id)
    revoked = await book.revoke(licence_id)
    assert revoked.revoked_at == clock.now and await book.revoke(licence_id) == revoked  # idempotent
    assert refused(rotated.key) is LicenceRevokedError
    assert registry.authenticate(issued.key) is None  # the rotated-out key's grace ended with it
    with pytest.raises(ConflictError):
        await book.update(licence_id, LicenceInput(name="back"))
    with pytest.raises(ConflictError):
        await book.rotate(licence_id)
    with pytest.raises(NotFoundError):
        await book.revoke("lic_nope")


async def test_patch_changes_only_what_it_names(book: LicenceBook) -> None:
    issued = await book.create(
        LicenceInput(name="a", groups=("Ultra", "pro", "ultra"), default_group="ultra", rpm=5)
    )
    assert issued.licence.groups == ("ultra", "pro")  # lower-cased, duplicates dropped
    changed = await book.update(issued.licence.id, parse_licence({"rpm": 7, "notes": "n"}))
    assert (changed.rpm, changed.notes, changed.name, changed.groups) == (7, "n", "a", ("ultra", "pro"))
    cleared = await book.update(issued.licence.id, parse_licence({"groups": [], "default_group": ""}))
    assert cleared.groups == () and cleared.default_group == ""


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x", "models": ["veo 3"]}, "models"),
        ({"name": "x", "models": [""]}, "models"),
        ({"name": "x", "models": "veo_3_1"}, "models"),
        ({"name": "x", "groups": ["Not ok!"]}, "groups"),
        ({"name": "x", "groups": ["a"], "default_group": "b"}, "default_group"),
        ({"name": "x", "rpm": -1}, "rpm"),
        ({"name": "x", "daily_credits": 1.5}, "daily_credits"),
        ({"name": "x", "monthly_credits": True}, "monthly_credits"),
        ({"name": "x", "expires_at": -5}, "expires_at"),
        ({"name": "x", "expires_at": 1.7e12}, "expires_at"),  # milliseconds, not seconds
        ({"name": "x", "progress": "loud"}, "progress"),
        ({"name": "x", "webhook_url": "ftp://example.com/x"}, "webhook_url"),
        ({"name": "x", "webhook_url": "/relative"}, "webhook_url"),
        ({"name": "x", "webhook_url": "http://[::1"}, "webhook_url"),
        ({"name": "x", "priority": 11}, "priority"),
        ({"name": "x", "enabled": "yes"}, "enabled"),
        ({"name": "x", "key_sha256": "0" * 64}, "key_sha256"),  # never settable
        ({"name": "x", "webhook_secret": "whsec_x"}, "webhook_secret"),
    ],
)
async def test_every_field_is_checked_and_named(book: LicenceBook, body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await book.create(parse_licence(body))
    assert caught.value.param == param


async def test_accepted_values(book: LicenceBook) -> None:
    issued = await book.create(
        parse_licence(
            {
                "name": "ok",
                "models": ["veo_3_1*", "nano_banana_pro-4K*", "imagen_4-16/9", "nano_banana?", "[!x]*"],
                "progress": "off",
                "webhook_url": "https://hooks.example.com/in?x=1",
                "priority": -10,
                "expires_at": 1_900_000_000,
            }
        )
    )
    assert issued.licence.progress == "off" and issued.licence.expires_at == 1_900_000_000.0
    assert parse_rotation(None) == Rotation() and parse_rotation({"grace_seconds": 5}).grace_seconds == 5.0
    with pytest.raises(InvalidRequestError):
        parse_rotation({"grace": 5})


def _settings(**fields: Any) -> LicenceSettings:
    return LicenceSettings(**{"id": "cfg", "key_sha256": hash_key("sk-flow-config-key-0123456789"), **fields})


async def test_the_config_file_owns_its_licences(
    book: LicenceBook, store: MemoryStore, registry: LicenceRegistry, clock: FakeClock
) -> None:
    await book.sync_config([_settings(name="From file", models=("veo_3_1*",), rpm=3)])
    licence = await book.get("cfg")
    assert (licence.source, licence.name, licence.models, licence.rpm) == (
        "config",
        "From file",
        ("veo_3_1*",),
        3,
    )
    assert licence.webhook_secret == ""  # signed with the server's [webhooks] secret
    assert registry.authenticate("sk-flow-config-key-0123456789") == licence
    for change in (
        book.update("cfg", LicenceInput(rpm=9)),
        book.rotate("cfg"),
        book.revoke("cfg"),
        book.set_enabled("cfg", enabled=False),
    ):
        with pytest.raises(ConflictError) as refused:
            await change
        assert refused.value.code == "licence_in_config" and refused.value.status == 409
    revision = await store.licences_revision()
    await book.sync_config([_settings(name="From file", models=("veo_3_1*",), rpm=3)])
    assert await store.licences_revision() == revision  # an unchanged file writes nothing
    clock.now += 10
    await book.sync_config([_settings(name="From file", rpm=4)])  # the file wins
    changed = await book.get("cfg")
    assert (changed.rpm, changed.models, changed.created_at, changed.updated_at) == (4, (), 1_000.0, 1_010.0)
    await book.sync_config([])  # removed from the file: revoked, kept for its usage history
    gone = await book.get("cfg")
    assert gone.revoked_at == 1_010.0
    found = registry.authenticate("sk-flow-config-key-0123456789")
    assert found is not None and found.revoked_at
    actions = [(e.actor, e.action) for e in await store.list_audit()]
    assert actions == [
        ("config", "licence.create"),
        ("config", "licence.update"),
        ("config", "licence.revoke"),
    ]


@pytest.mark.parametrize(
    ("entries", "where"),
    [
        ([_settings(rpm=-1)], "licences[0].rpm"),
        ([_settings(models=("a b",))], "licences[0].models"),
        ([_settings(webhook_secret="plain")], "licences[0].webhook_secret"),
        ([_settings(), _settings()], "licences[1].id"),
        ([_settings(), _settings(id="other")], "licences[1].key_sha256"),
    ],
)
async def test_a_broken_config_licence_is_a_config_error(
    book: LicenceBook, entries: list[LicenceSettings], where: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(where + ":")):
        await book.sync_config(entries)


async def test_a_config_secret_is_used_as_given(book: LicenceBook) -> None:
    secret = new_webhook_secret()
    await book.sync_config([_settings(webhook_secret=secret)])
    assert (await book.get("cfg")).webhook_secret == secret


async def test_the_registry_follows_the_store_revision(store: MemoryStore, clock: FakeClock) -> None:
    registry = LicenceRegistry(clock=clock)
    other_process = LicenceBook(store, clock=clock)  # the CLI: no registry to tell
    issued = await other_process.create(LicenceInput(name="cli"))
    assert registry.authenticate(issued.key) is None
    assert await registry.sync(store) is True
    assert (
        registry.authenticate(issued.key) == issued.licence
        and registry.get(issued.licence.id) == issued.licence
    )
    assert await registry.sync(store) is False  # nothing new: no reload
    await other_process.revoke(issued.licence.id)
    await registry.sync(store)
    found = registry.authenticate(issued.key)
    assert found is not None and found.revoked_at
    assert len(registry) == 1


def test_authentication_refuses_silly_keys_before_hashing() -> None:
    key = new_licence_key()
    registry = LicenceRegistry([LicenceSettings(id="a", key_sha256=hash_key(key))])
    assert registry.authenticate(key) is not None
    assert registry.authenticate("") is None and registry.authenticate("x" * 513) is None


async def test_the_audit_trail_holds_no_secret(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "s.sqlite3"
    async with open_sqlite_store(path) as store:
        book = LicenceBook(store, audit=AuditTrail(store, actor="cli", clock=clock), clock=clock)
        issued = await book.create(LicenceInput(name="secretive", webhook_url="https://example.com/h"))
        rotated = await book.rotate(issued.licence.id, Rotation(webhook_secret=True))
        await book.update(issued.licence.id, LicenceInput(rpm=3))
        await book.revoke(issued.licence.id)
        entries = await store.list_audit(target=issued.licence.id)
        assert [e.action for e in entries] == [
            "licence.create",
            "licence.rotate",
            "licence.update",
            "licence.revoke",
        ]
        assert {e.actor for e in entries} == {"cli"}
        rotation = entries[1]
        assert rotation.before is not None and rotation.after is not None
        assert rotation.before["key_hint"] != rotation.after["key_hint"]  # what changed shows, as hints
        assert rotation.after["webhook_secret"] == "…" + rotated.webhook_secret[-4:]
    with contextlib.closing(sqlite3.connect(path)) as db:  # the rows as written, whatever reads them
        raw = b"".join(bytes(row[0]) for row in db.execute("SELECT doc FROM audit"))
    for secret in (issued.key, rotated.key, issued.webhook_secret, rotated.webhook_secret):
        assert secret.encode() not in raw
        assert hash_key(secret).encode() not in raw


def test_public_doc_hides_every_kind_of_credential() -> None:
    doc = public_doc(
        {
            "session_token": "eyJhbGciOiJIUzI1NiJ9.payload.signature-long",
            "worker_key": "wk-0123456789abcdefghijklmn",
            "key_sha256": "f" * 64,
            "proxy": "http://user:hunter2@proxy.example:8080",
            "groups": ("a", "b"),
        }
    )
    assert doc == {
        "session_token": "…long",
        "worker_key": "…klmn",
        "proxy": "http://user:***@proxy.example:8080",
        "groups": ["a", "b"],
    }


async def test_account_changes_are_audited_without_their_token(store: MemoryStore, clock: FakeClock) -> None:
    token = "st-a-session-token-that-is-long-enough"
    book = AccountBook(store, clock=clock, audit=AuditTrail(store, actor="admin-api", clock=clock))
    created = await book.create(AccountInput(kind=AccountKind.REST, session_token=token, label="one"))
    await book.change(created.id, AccountInput(enabled=False))
    await book.change(created.id, AccountInput(session_token=token + "-new", label="renamed"))
    await book.delete(created.id)
    await book.import_many(
        [AccountInput(kind=AccountKind.REST, session_token="st-imported-token-0123456789")]
    )
    entries = await store.list_audit()
    assert [(e.action, e.target) for e in entries] == [
        ("account.create", created.id),
        ("account.disable", created.id),
        ("account.update", created.id),
        ("account.delete", created.id),
        ("account.import", "accounts"),
    ]
    assert entries[2].before is not None and entries[2].after is not None
    assert entries[2].before["secret"] != entries[2].after["secret"]  # the token changed: its hint shows it
    text = repr(entries)
    assert token not in text and "st-imported-token" not in text


@pytest.mark.parametrize(
    ("listen", "problem"),
    [("nonsense", "admin.listen: must be host:port"), ("127.0.0.1:8000", "another port than server.port")],
)
def test_the_admin_listener_address_is_checked(listen: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_settings(None, environ={"GATEWAY_ADMIN_LISTEN": listen})
    settings = load_settings(None, environ={"GATEWAY_ADMIN_LISTEN": "[::1]:9100"})
    assert parse_listen(settings.admin.listen) == ("::1", 9100)
    assert (
        load_settings(None, environ={"GATEWAY_LICENSING_ROTATION_GRACE": "60"}).licensing.rotation_grace == 60
    )
