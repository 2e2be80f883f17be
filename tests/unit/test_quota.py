"""Licence enforcement without HTTP: models and groups, each limit (the rate window, concurrency,
daily caps, daily and monthly credits), reservation and settlement, the counters rebuilt at start,
and the metric label cap. Time is a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.catalog import Catalog
from gateway.domain import (
    Kind,
    LicenceDefinition,
    TaskRecord,
    TaskStage,
    TaskStatus,
    UsageOutcome,
    UsageRecord,
)
from gateway.errors import NoCapacityError, PermissionDeniedError, QuotaExceededError
from gateway.obs.metrics import GatewayMetrics, LabelCap
from gateway.service.quota.counters import Window
from gateway.service.quota.quota import Quota
from gateway.service.quota.rebuild import rebuild
from gateway.service.quota.settlement import Settlement
from gateway.store.base import UsageQuery
from gateway.store.memory import MemoryStore

CATALOG = Catalog.load(Path(__file__).parents[2] / "config" / "models.toml")
FAST = CATALOG.resolve("veo_3_1-fast")  # 20 credits
RELAXED = CATALOG.resolve("veo_3_1-relaxed")  # 0 credits
IMAGE = CATALOG.resolve("nano_banana")
NOON = 1_764_590_400.0  # 2025-12-01 12:00 UTC


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def licence(**limits: object) -> LicenceDefinition:
    return LicenceDefinition("lic-a", "A", "0" * 64, **limits)  # type: ignore[arg-type]


def quota_with(clock: Clock, store: MemoryStore | None = None) -> Quota:
    return Quota(store=store or MemoryStore(), clock=clock, metrics=GatewayMetrics(max_licence_labels=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def quota(clock: Clock) -> AsyncIterator[Quota]:
    made = quota_with(clock)
    yield made
    await made.close()  # its usage writer stops with the test


async def ok(quota: Quota, work_id: str, delivered: int = 1) -> UsageRecord | None:
    return await quota.settle(work_id, Settlement(UsageOutcome.SUCCEEDED, delivered=delivered))


@pytest.mark.parametrize(
    ("patterns", "allowed"),
    [
        ((), True),
        (("veo_3_1*",), True),
        (("veo_3_1",), True),  # the bare model id matches every variant
        (("veo_3_1-landscape-fast",), False),  # a portrait order is another variant
        (("veo_3_1-fast",), True),
        (("nano_banana*", "omni_*"), False),
        (("VEO_3_1-*",), True),  # case does not matter
    ],
)
async def test_models_are_patterns_over_the_variant_and_the_bare_id(
    quota: Quota, patterns: tuple[str, ...], allowed: bool
) -> None:
    if allowed:
        await quota.admit_tasks(licence(models=patterns), FAST)
        return
    with pytest.raises(PermissionDeniedError) as refused:
        await quota.admit_tasks(licence(models=patterns), FAST)
    assert (refused.value.code, refused.value.param) == ("model_not_allowed", "model")


async def test_account_groups_named_must_be_the_licences_and_the_default_applies(quota: Quota) -> None:
    own = licence(groups=("ultra", "pro"), default_group="pro")
    assert (await quota.admit_tasks(own, FAST)).groups == ("pro",)  # named none: the default
    assert (await quota.admit_tasks(own, replace(FAST, groups=("ultra",)))).groups == ("ultra",)
    with pytest.raises(PermissionDeniedError) as refused:
        await quota.admit_tasks(own, replace(FAST, groups=("free",)))
    assert refused.value.code == "group_not_allowed"
    assert (await quota.admit_tasks(licence(groups=("ultra", "pro")), FAST)).groups == ("ultra", "pro")
    assert (await quota.admit_tasks(licence(), replace(FAST, groups=("x",)))).groups == ("x",)


async def test_requests_per_minute_slide_and_say_when_to_come_back(quota: Quota, clock: Clock) -> None:
    own = licence(rpm=3)
    for step in range(3):
        clock.now = NOON + step * 10
        await quota.admit_tasks(own, IMAGE)
    clock.now = NOON + 30
    with pytest.raises(NoCapacityError) as refused:
        await quota.admit_tasks(own, IMAGE)
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.retry_after == pytest.approx(30)  # the first request leaves the window at +60
    assert refused.value.headers()["retry-after"] == "30"
    window = await quota.window(own)
    # One more is allowed in 30 s; the window is empty again when the last one leaves it, at +80.
    assert (window.limit, window.remaining, window.reset, window.reset_duration) == (3, 0, 30.0, "50s")
    clock.now = NOON + 60.5
    await quota.admit_tasks(own, IMAGE)  # the first one slid out
    assert (await quota.window(own)).remaining == 0


async def test_generations_in_progress_are_bounded_and_settling_frees_a_slot(quota: Quota) -> None:
    own = licence(max_concurrency=2)
    first = await quota.admit_tasks(own, FAST)
    await quota.admit_tasks(own, FAST)
    with pytest.raises(NoCapacityError) as refused:
        await quota.admit_tasks(own, FAST)
    assert refused.value.retry_after
    with pytest.raises(NoCapacityError):  # a chat with n=2 needs two slots at once
        await quota.admit_tasks(licence(max_concurrency=1), FAST, copies=2)
    await quota.settle(first.ids[0], Settlement(UsageOutcome.FAILED, error_code="upstream_error"))
    await quota.admit_tasks(own, FAST)


async def test_daily_image_and_video_caps_count_what_is_ordered(quota: Quota) -> None:
    own = licence(daily_images=5, daily_videos=1)
    await quota.admit_tasks(own, IMAGE, count=4)
    with pytest.raises(QuotaExceededError) as refused:
        await quota.admit_tasks(own, IMAGE, count=2)
    assert refused.value.headers() == {"x-should-retry": "false"}
    assert refused.value.code == "insufficient_quota" and refused.value.status == 429
    await quota.admit_tasks(own, IMAGE, count=1)
    video = await quota.admit_tasks(own, FAST)
    with pytest.raises(QuotaExceededError):
        await quota.admit_tasks(own, FAST)
    await quota.settle(video.ids[0], Settlement(UsageOutcome.FAILED))  # a failed video does not count
    await quota.admit_tasks(own, FAST)


async def test_credit_budgets_reserve_then_settle_and_a_failure_refunds(quota: Quota) -> None:
    own = licence(daily_credits=50)
    first = await quota.admit_tasks(own, FAST)
    second = await quota.admit_tasks(own, FAST)
    with pytest.raises(QuotaExceededError):
        await quota.admit_tasks(own, FAST)  # 20 + 20 reserved, 20 more would pass 50
    await quota.admit_tasks(own, RELAXED)  # relaxed costs nothing: a spent budget does not stop it
    settled = await ok(quota, first.ids[0])
    assert settled is not None
    assert (settled.outcome, settled.credits_reserved, settled.credits_settled) == (
        UsageOutcome.SUCCEEDED,
        20,
        20,
    )
    refunded = await quota.settle(second.ids[0], Settlement(UsageOutcome.FAILED, error_code="video_failed"))
    assert refunded is not None and refunded.credits_settled == 0
    assert (await quota.standing(own)).today.credits == 20
    await quota.admit_tasks(own, FAST)
    assert await ok(quota, first.ids[0]) is None  # settled once only


async def test_monthly_budget_outlives_the_day(quota: Quota, clock: Clock) -> None:
    own = licence(monthly_credits=40, daily_credits=20)
    await ok(quota, (await quota.admit_tasks(own, FAST)).ids[0])
    with pytest.raises(QuotaExceededError):
        await quota.admit_tasks(own, FAST)
    clock.now += 86_400  # a new day: the daily budget is back, the month keeps counting
    await ok(quota, (await quota.admit_tasks(own, FAST)).ids[0])
    clock.now += 86_400  # a third day: nothing spent today, but the month is
    with pytest.raises(QuotaExceededError, match="monthly"):
        await quota.admit_tasks(own, FAST)
    assert (await quota.standing(own)).month_credits == 40


async def test_an_image_order_settles_at_what_it_delivered(quota: Quota) -> None:
    pro_2k = replace(IMAGE, credits=3)
    own = licence(daily_credits=100)
    admission = await quota.admit_request(own, pro_2k, count=4)
    settled = await ok(quota, admission.ids[0], delivered=3)  # Flow answered 3 of 4
    assert settled is not None
    assert (settled.count, settled.credits_reserved, settled.credits_settled) == (3, 12, 9)
    assert settled.task_id == ""  # a synchronous request has no task


async def test_an_admission_gives_back_what_no_task_took(quota: Quota) -> None:
    own = licence(max_concurrency=3, daily_credits=60)
    admission = await quota.admit_tasks(own, FAST, copies=3)
    record = TaskRecord("x", "lic-a", Kind.VIDEO, "m", "p", TaskStatus.QUEUED, TaskStage.QUEUED, 1.0, 1.0)
    with pytest.raises(RuntimeError), admission:
        claimed = admission.claim(record)
        assert claimed.id == admission.ids[0] and claimed.order["groups"] == ""
        raise RuntimeError("the second task could not be written")
    await quota.flush()  # given back by the settler, on the loop's next turn
    standing = await quota.standing(own)
    assert (standing.in_progress, standing.today.credits) == (1, 20)  # the first task keeps its share


async def test_fifty_parallel_admissions_against_a_budget_for_ten(quota: Quota) -> None:
    own = licence(daily_credits=200)  # ten videos at 20

    async def order() -> bool:
        await asyncio.sleep(0)
        try:
            admission = await quota.admit_tasks(own, FAST)
        except QuotaExceededError:
            return False
        await asyncio.sleep(0)
        await ok(quota, admission.ids[0])
        return True

    results = await asyncio.gather(*(order() for _ in range(50)))
    assert sum(results) == 10
    assert (await quota.standing(own)).today.credits == 200


async def test_usage_is_written_behind_in_one_batch(clock: Clock) -> None:
    store = MemoryStore()
    quota = Quota(store=store, clock=clock, write_delay=3600)
    admission = await quota.admit_tasks(licence(), FAST)
    assert await store.list_usage(UsageQuery()) == []  # nothing written on the request's path
    await ok(quota, admission.ids[0])
    await quota.close()
    (record,) = await store.list_usage(UsageQuery())
    assert (record.outcome, record.model, record.kind, record.task_id) == (
        UsageOutcome.SUCCEEDED,
        "veo_3_1-fast",
        "video",
        admission.ids[0],
    )


def task(task_id: str, status: TaskStatus, **fields: object) -> TaskRecord:
    stage = TaskStage.DONE if status.finished else TaskStage.GENERATING
    return TaskRecord(task_id, "lic-a", Kind.VIDEO, "veo_3_1-fast", "p", status, stage, NOON, NOON, **fields)  # type: ignore[arg-type]


async def test_a_restart_keeps_unfinished_tasks_reservations_and_gives_back_the_rest(clock: Clock) -> None:
    store = MemoryStore()
    first = quota_with(clock, store)
    own = licence(daily_credits=1000, max_concurrency=10)
    running, finished, deleted = [(await first.admit_tasks(own, FAST)).ids[0] for _ in range(3)]
    sync = (await first.admit_request(own, IMAGE)).ids[0]
    await ok(first, (await first.admit_tasks(own, FAST)).ids[0])  # settled before the restart: 20 spent
    await first.close()
    await store.put_task(task(running, TaskStatus.IN_PROGRESS, submitted_at=NOON))
    await store.put_task(
        task(finished, TaskStatus.COMPLETED, results=("vid_1",), account_id="acc", completed_at=NOON + 9)
    )

    second = quota_with(clock, store)
    await rebuild(second, store, clock.now)
    standing = await second.standing(own)
    assert standing.in_progress == 1  # only the task still running holds a slot
    assert standing.today.credits == 20 + 20 + 20  # settled before, the running one, the one finished
    await second.flush()
    outcomes = {r.id: (r.outcome, r.error_code) for r in await store.list_usage(UsageQuery())}
    assert outcomes[running] == (UsageOutcome.RESERVED, "")
    assert outcomes[finished] == (UsageOutcome.SUCCEEDED, "")
    assert outcomes[deleted] == outcomes[sync] == (UsageOutcome.FAILED, "interrupted")
    second.task_finished(task(running, TaskStatus.FAILED, error_code="video_failed"))
    await second.flush()  # the listener's settlement is written on the next turn of the loop
    after = await second.standing(own)
    assert after.today.credits == 40 and after.in_progress == 0
    await second.close()


async def test_a_cancelled_or_deleted_task_settles_as_cancelled(quota: Quota) -> None:
    own = licence()
    cancelled, deleted = (await quota.admit_tasks(own, FAST, copies=2)).ids
    quota.task_finished(task(cancelled, TaskStatus.FAILED, error_code="cancelled"))
    quota.task_deleted(task(deleted, TaskStatus.IN_PROGRESS))
    await quota.flush()
    assert (await quota.standing(own)).in_progress == 0
    outcomes = {r.id: (r.outcome, r.error_code) for r in await quota.records(UsageQuery())}
    assert outcomes == {
        cancelled: (UsageOutcome.CANCELLED, "cancelled"),
        deleted: (UsageOutcome.CANCELLED, "deleted"),
    }


def test_licence_labels_are_capped() -> None:
    cap = LabelCap(2)
    assert [cap.label(x) for x in ("a", "b", "c", "a", "d")] == ["a", "b", "other", "a", "other"]


@pytest.mark.parametrize(
    ("reset", "text"), [(0.0, "0s"), (0.0123, "13ms"), (1.0, "1s"), (59.2, "1m0s"), (361.0, "6m1s")]
)
def test_reset_durations_are_written_as_openai_writes_them(reset: float, text: str) -> None:
    assert Window(10, 10, 0.0, reset).reset_duration == text
