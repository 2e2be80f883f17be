from pathlib import Path

from gateway.domain import Kind, MediaRecord, TaskRecord, TaskStage, TaskStatus, UpstreamMedia
from gateway.store.base import Store, TaskQuery
from gateway.store.sqlite import open_sqlite_store


async def test_projects(store: Store) -> None:
    assert await store.get_project("a") is None
    await store.set_project("a", "p1")
    await store.set_project("a", "p2")
    assert await store.get_project("a") == "p2"


async def test_a_secret_made_twice_is_kept_once(store: Store) -> None:
    assert await store.get_secret("signing_key") is None
    assert await store.set_secret_if_absent("signing_key", "first") == "first"
    assert await store.set_secret_if_absent("signing_key", "second") == "first"  # the kept one wins
    assert await store.get_secret("signing_key") == "first"
    await store.set_secret("signing_key", "replaced")
    assert await store.get_secret("signing_key") == "replaced"


async def test_media_records(store: Store) -> None:
    record = MediaRecord("img_1", "lic", "image/jpeg", 10, 5.0, "acc", UpstreamMedia("m", "p"))
    await store.put_media(record)
    assert await store.get_media("img_1") == record
    bare = MediaRecord("img_2", "lic", "image/png", 1, 6.0)
    await store.put_media(bare)
    assert await store.get_media("img_2") == bare
    assert await store.delete_media("img_1") is True
    assert await store.delete_media("img_1") is False
    assert await store.get_media("img_1") is None
    assert await store.ping()


async def test_tasks_written_in_a_batch_replace_older_versions(store: Store) -> None:
    first = TaskRecord("t1", "lic", Kind.IMAGE, "m", "p", TaskStatus.QUEUED, TaskStage.QUEUED, 1.0, 1.0)
    await store.put_task(first)
    done = TaskRecord("t1", "lic", Kind.IMAGE, "m", "p", TaskStatus.COMPLETED, TaskStage.DONE, 1.0, 2.0)
    other = TaskRecord(
        "t2", "lic", Kind.IMAGE, "m", "p", TaskStatus.IN_PROGRESS, TaskStage.GENERATING, 2.0, 2.0
    )
    await store.put_tasks([done, other])
    assert await store.get_task("t1") == done and await store.get_task("t2") == other
    page, more = await store.list_tasks(TaskQuery(owner="lic", kind=Kind.IMAGE, limit=10))
    assert [t.id for t in page] == ["t2", "t1"] and not more
    assert [t.id for t in await store.unfinished_tasks()] == ["t2"]


async def test_the_admin_view_lists_every_owner_by_kind_and_status(store: Store) -> None:
    def task(task_id: str, owner: str, kind: Kind, status: TaskStatus, at: float) -> TaskRecord:
        return TaskRecord(task_id, owner, kind, "m", "p", status, TaskStage.QUEUED, at, at)

    await store.put_tasks(
        [
            task("a1", "lic-a", Kind.IMAGE, TaskStatus.COMPLETED, 1.0),
            task("b1", "lic-b", Kind.VIDEO, TaskStatus.QUEUED, 2.0),
            task("b2", "lic-b", Kind.IMAGE, TaskStatus.FAILED, 3.0),
        ]
    )
    every, _ = await store.list_tasks(TaskQuery(owner="", kind=None, all_owners=True))
    assert [t.id for t in every] == ["b2", "b1", "a1"]
    images, _ = await store.list_tasks(TaskQuery(owner="", kind=Kind.IMAGE, all_owners=True))
    assert [t.id for t in images] == ["b2", "a1"]
    queued, _ = await store.list_tasks(
        TaskQuery(owner="", kind=None, status=TaskStatus.QUEUED, all_owners=True)
    )
    assert [t.id for t in queued] == ["b1"]
    page, more = await store.list_tasks(TaskQuery(owner="", kind=None, all_owners=True, limit=1, after="b2"))
    assert [t.id for t in page] == ["b1"] and more
    nobody, _ = await store.list_tasks(TaskQuery(owner="", kind=None))  # no owner named: none, not all
    assert nobody == []
    of_b, _ = await store.list_tasks(TaskQuery(owner="lic-b", kind=None))
    assert [t.id for t in of_b] == ["b2", "b1"]


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db" / "s.sqlite3"
    async with open_sqlite_store(path) as first:
        await first.set_project("a", "p1")
    async with open_sqlite_store(path) as second:
        assert await second.get_project("a") == "p1"


async def test_account_records(store: Store) -> None:
    from gateway.domain import AccountRecord

    first = AccountRecord(
        "acc_1", "cooling_down", "rate limited", 10.0, 50.0, 1, 0, 0, "PAYGATE_TIER_TWO", 900, "a@b", 9.0
    )
    await store.put_accounts([first, AccountRecord("acc_2", "active")])
    await store.put_accounts([AccountRecord("acc_2", "disabled", "5 consecutive failures")])
    saved = await store.get_accounts()
    assert saved["acc_1"] == first
    assert (saved["acc_2"].state, saved["acc_2"].reason) == ("disabled", "5 consecutive failures")


async def test_account_definitions_and_their_revision(store: Store) -> None:
    from gateway.domain import AccountDefinition, AccountKind, AccountRecord, Secret

    start = await store.definitions_revision()
    rest = AccountDefinition(
        "acc_1",
        AccountKind.REST,
        "one",
        Secret("st-secret-one"),
        groups=("ultra", "team"),
        rpm=5,
        daily_images=10,
        enabled=False,
        source="config",
        created_at=1.0,
        updated_at=2.0,
    )
    worker = AccountDefinition(
        "wrk_1", AccountKind.WORKER, "w", worker_key="key-1", tier="ultra", created_at=3.0
    )
    await store.put_definitions([worker, rest])
    assert await store.definitions_revision() != start
    assert await store.get_definitions() == [rest, worker]  # oldest first, every field kept
    assert await store.get_definition("wrk_1") == worker
    assert await store.get_definition("nope") is None
    await store.put_accounts([AccountRecord("acc_1", "disabled", refused=(("veo_3_1-relaxed", 9.0),))])
    assert (await store.get_accounts())["acc_1"].refused == (("veo_3_1-relaxed", 9.0),)
    before = await store.definitions_revision()
    assert await store.delete_definition("acc_1") is True
    assert await store.delete_definition("acc_1") is False
    assert await store.definitions_revision() != before
    assert [d.id for d in await store.get_definitions()] == ["wrk_1"]
    assert "acc_1" not in await store.get_accounts()  # its saved state went with it


async def test_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "private.sqlite3"
    async with open_sqlite_store(path):
        pass
    assert path.stat().st_mode & 0o077 == 0  # it holds account credentials
