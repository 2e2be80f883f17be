"""Media retention: the pure plan, then the cleaner over a real disk store and a memory store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway.config import MediaSettings
from gateway.domain import Kind, MediaRecord, TaskRecord, TaskStage, TaskStatus
from gateway.media.signing import FRESH_SECONDS, MIN_PRUNE, UrlSigner
from gateway.media.storage import DiskMediaStore, StoredMedia
from gateway.service.retention import MediaCleaner, RetentionPolicy, plan_sweep
from gateway.store.memory import MemoryStore

DAY = 86400.0
NOW = 100 * DAY


def entry(media_id: str, *, age_days: float, size: int = 10) -> StoredMedia:
    return StoredMedia(media_id, "image/jpeg", size, NOW - age_days * DAY)


def ids(entries: list[StoredMedia]) -> list[str]:
    return [e.id for e in entries]


def test_policy_from_settings() -> None:
    policy = RetentionPolicy.from_settings(MediaSettings())
    # The youngest are spared for a URL's lifetime plus the margin in which URLs are not remembered.
    assert (policy.max_age, policy.max_total, policy.min_age) == (
        7 * DAY,
        10 * 1024 * 1024 * 1024,
        DAY + FRESH_SECONDS,
    )
    off = RetentionPolicy.from_settings(MediaSettings(max_age_hours=-1, max_total_mb=0, url_ttl_seconds=60))
    assert (off.max_age, off.max_total, off.min_age) == (0, 0, 60 + FRESH_SECONDS)


@pytest.mark.parametrize(
    ("max_age_days", "max_total", "protected", "removed"),
    [
        (7, 0, set(), ["a", "b"]),  # older than 7 days
        (0, 0, set(), []),  # no limit at all
        (7, 0, {"a"}, ["b"]),  # protected even when expired
        (0, 25, set(), ["a", "b", "c"]),  # oldest first until 50 -> 20 <= 25
        (30, 35, set(), ["a", "b"]),  # none expired; oldest first until 50 -> 30 <= 35
        (0, 5, set(), ["a", "b", "c", "d"]),  # e is younger than min_age (1 day): never removed
        (0, 25, {"b", "c"}, ["a", "d"]),  # skips the protected, goes on with younger ones
    ],
)
def test_plan(max_age_days: float, max_total: int, protected: set[str], removed: list[str]) -> None:
    stored = [
        entry("c", age_days=5),
        entry("a", age_days=30),
        entry("e", age_days=0.5),
        entry("b", age_days=10),
        entry("d", age_days=2),
    ]
    policy = RetentionPolicy(max_age=max_age_days * DAY, max_total=max_total, min_age=DAY)
    assert ids(plan_sweep(stored, policy=policy, protected=frozenset(protected), now=NOW)) == removed


def test_signer_remembers_unexpired_urls_and_prunes_the_rest() -> None:
    now = [1000.0]
    signer = UrlSigner(b"k", ttl=60, clock=lambda: now[0])
    signer.sign("img_a")
    now[0] += 30
    signer.sign("img_b")
    assert signer.unexpired() == {"img_a", "img_b"}
    now[0] += 31
    assert signer.unexpired() == {"img_b"}
    for i in range(MIN_PRUNE + 10):  # signing many ids prunes on its own, without a sweep
        signer.sign(f"img_{i}")
        now[0] += 1
    assert len(signer.unexpired()) == 60  # the last minute's


def test_urls_of_fresh_media_are_not_remembered_yet_the_sweep_spares_them() -> None:
    now = [NOW]
    signer = UrlSigner(b"k", ttl=DAY, clock=lambda: now[0])
    expires, _ = signer.sign("img_fresh", made_at=NOW - 1)  # delivered as it is made: the hot path
    signer.sign("img_old", made_at=NOW - 2 * DAY)  # an old result handed out again
    signer.sign("img_unknown")
    assert signer.unexpired() == {"img_old", "img_unknown"}
    policy = RetentionPolicy.from_settings(MediaSettings(url_ttl_seconds=DAY, max_age_hours=1 / 3600))
    fresh = StoredMedia("img_fresh", "image/png", 10, NOW - 1)
    for at in (NOW, expires):  # up to the last second its URL opens, the file stays
        assert plan_sweep([fresh], policy=policy, protected=signer.unexpired(), now=at) == []


async def test_disk_entries_skip_temporary_files(tmp_path: Path) -> None:
    media = DiskMediaStore(tmp_path)
    stored = await media.put(b"\xff\xd8\xffdata", mime="image/jpeg")
    (tmp_path / stored.id[4:6] / f"{stored.id}.jpg.abcd.tmp").write_bytes(b"half")
    (tmp_path / "stray.txt").write_text("x")
    assert [(e.id, e.mime, e.size) for e in await media.entries()] == [(stored.id, "image/jpeg", 7)]
    assert await DiskMediaStore(tmp_path / "missing").entries() == []


async def put(media: DiskMediaStore, store: MemoryStore, *, age_days: float, size: int = 100) -> str:
    stored = await media.put(os.urandom(size), mime="image/jpeg")
    path = await media.path(stored.id)
    assert path is not None
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY))
    await store.put_media(MediaRecord(stored.id, "lic", stored.mime, size, stored.created_at))
    return stored.id


def running_task(inputs: tuple[str, ...]) -> TaskRecord:
    return TaskRecord(
        "video_1", "lic", Kind.VIDEO, "veo_3_1", "p", TaskStatus.IN_PROGRESS, TaskStage.GENERATING, NOW, NOW,
        inputs=inputs,
    )  # fmt: skip


async def test_cleaner_removes_files_and_records_but_never_what_is_in_use(tmp_path: Path) -> None:
    media, store = DiskMediaStore(tmp_path), MemoryStore()
    signer = UrlSigner(b"k", ttl=int(DAY), clock=lambda: NOW)
    old, old_in_task, old_signed, mid, young = [
        await put(media, store, age_days=age) for age in (20, 20, 20, 3, 0.1)
    ]
    await store.put_task(running_task((old_in_task,)))
    signer.sign(old_signed)  # a URL handed out a moment ago: it opens for another day
    policy = RetentionPolicy(max_age=7 * DAY, max_total=250, min_age=DAY)
    cleaner = MediaCleaner(media=media, store=store, signer=signer, policy=policy, clock=lambda: NOW)
    with capture_logs() as logs:
        report = await cleaner.sweep()
    assert (report.removed, report.freed, report.remaining) == (2, 200, 300)  # old (age), mid (size)
    assert {e.id for e in await media.entries()} == {old_in_task, old_signed, young}
    assert await store.get_media(old) is None and await store.get_media(mid) is None
    assert await store.get_media(young) is not None
    events = {(e["event"], e["log_level"]) for e in logs}
    assert events == {("media_swept", "info"), ("media_over_cap", "warning")}  # 300 > 250: all protected


async def test_run_is_off_with_no_interval(tmp_path: Path) -> None:
    cleaner = MediaCleaner(
        media=DiskMediaStore(tmp_path),
        store=MemoryStore(),
        signer=UrlSigner(b"k", ttl=60),
        policy=RetentionPolicy(max_age=1, max_total=0, min_age=0),
    )
    await cleaner.run(interval=0)  # returns at once
