"""The licence and audit facets of the store, on every backend."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gateway.domain import AuditEntry, LicenceDefinition
from gateway.store.base import Store
from gateway.store.sqlite import open_sqlite_store

FULL = LicenceDefinition(
    id="lic_full",
    name="Full",
    key_sha256="a" * 64,
    notes="n",
    owner="o",
    expires_at=5.0,
    models=("veo_3_1*", "nano_banana"),
    groups=("ultra", "pro"),
    default_group="pro",
    rpm=1,
    max_concurrency=2,
    daily_images=3,
    daily_videos=4,
    daily_credits=5,
    monthly_credits=6,
    progress="content",
    webhook_url="https://example.com/hook",
    webhook_secret="whsec_x",
    priority=-3,
    enabled=False,
    revoked_at=7.0,
    previous_key_sha256="b" * 64,
    previous_key_until=8.0,
    source="config",
    created_at=9.0,
    updated_at=10.0,
    key_hint="sk-flow-Ab…yz",
)


async def test_every_field_round_trips_and_updates_keep_their_place(store: Store) -> None:
    bare = LicenceDefinition("lic_bare", "Bare", "c" * 64)
    await store.put_licence(FULL)
    await store.put_licence(bare)
    assert await store.get_licence("lic_full") == FULL
    assert await store.get_licence("lic_bare") == bare
    assert await store.get_licence("nope") is None
    changed = replace(FULL, name="Renamed", models=())
    await store.put_licence(changed)  # an upsert: the oldest stays first
    assert await store.get_licences() == [changed, bare]


async def test_the_revision_moves_on_every_write_and_delete(store: Store) -> None:
    start = await store.licences_revision()
    await store.put_licence(FULL)
    after_put = await store.licences_revision()
    await store.put_licence(replace(FULL, name="again"))
    after_update = await store.licences_revision()
    assert start < after_put < after_update
    assert await store.delete_licence("lic_full") is True
    after_delete = await store.licences_revision()
    assert after_delete > after_update
    assert await store.delete_licence("lic_full") is False
    assert await store.licences_revision() == after_delete  # nothing deleted: nothing to notice
    assert await store.get_licences() == []


async def test_audit_entries_are_numbered_and_paged(store: Store) -> None:
    first = await store.add_audit(
        AuditEntry(1.0, "cli", "licence.create", "lic_1", after={"name": "a", "models": ["x"]})
    )
    second = await store.add_audit(
        AuditEntry(2.0, "admin-api", "account.disable", "acc_1", before={}, after={})
    )
    third = await store.add_audit(AuditEntry(3.0, "config", "licence.update", "lic_1", before={"n": 1}))
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    assert await store.list_audit() == [first, second, third]
    assert first.after == {"name": "a", "models": ["x"]} and first.before is None
    assert await store.list_audit(after=1, limit=1) == [second]
    assert await store.list_audit(target="lic_1") == [first, third]
    assert await store.list_audit(after=1, target="lic_1") == [third]
    assert await store.list_audit(after=3) == []


async def test_sqlite_keeps_licences_and_the_trail_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    async with open_sqlite_store(path) as first:
        await first.put_licence(FULL)
        await first.add_audit(AuditEntry(1.0, "cli", "licence.create", "lic_full"))
        revision = await first.licences_revision()
    async with open_sqlite_store(path) as second:
        assert await second.get_licences() == [FULL]
        assert [e.action for e in await second.list_audit()] == ["licence.create"]
        assert await second.licences_revision() == revision
        await second.add_audit(AuditEntry(2.0, "cli", "licence.revoke", "lic_full"))
        assert [e.seq for e in await second.list_audit()] == [1, 2]
