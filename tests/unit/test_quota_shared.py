"""Licence limits shared by replicas on one Redis: two ``Quota``s on one Redis and prefix are two
replicas. Admission is one script, so a budget, a rate window and a concurrency limit hold across
both under concurrent requests; a hold settles on whichever replica the work ends; a dead
replica's synchronous holds expire while a live one's are renewed; a restart or two replicas
starting at once count nothing twice; Redis away refuses admission at once (503) and settlements
wait for it. Refusals read exactly as one process's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.catalog import Catalog
from gateway.domain import (
    GenerationSpec,
    Kind,
    LicenceDefinition,
    TaskRecord,
    TaskStage,
    TaskStatus,
    UsageOutcome,
    UsageRecord,
)
from gateway.errors import GatewayError, NoCapacityError, QuotaExceededError, StoreUnavailableError
from gateway.service.quota.book import LocalBook
from gateway.service.quota.quota import Quota
from gateway.service.quota.rebuild import rebuild
from gateway.service.quota.rules import day_of
from gateway.service.quota.settlement import Settlement
from gateway.service.quota.shared import SharedBook
from gateway.store.base import UsageQuery
from gateway.store.memory import MemoryStore
from gateway.store.redis_store import RedisStore
from tests.support.redis_server import RedisServer, start_server, unique_prefix

CATALOG = Catalog.load(Path(__file__).parents[2] / "config" / "models.toml")
FAST = CATALOG.resolve("veo_3_1-fast")  # 20 credits
IMAGE = CATALOG.resolve("nano_banana")
SUCCEEDED = Settlement(UsageOutcome.SUCCEEDED, delivered=1)
FAILED = Settlement(UsageOutcome.FAILED, error_code="upstream_error")


def licence(**limits: object) -> LicenceDefinition:
    return LicenceDefinition("lic-a", "A", "0" * 64, **limits)  # type: ignore[arg-type]


class Replicas:
    """Replicas (a store and a quota each) on one Redis under one prefix, closed at the end."""

    def __init__(self, url: str, stack: AsyncExitStack) -> None:
        self.url, self.prefix, self._stack = url, unique_prefix(), stack

    async def replica(self, *, hold_ttl: float = 60.0, keep: bool = False) -> Quota:
        store = RedisStore(self.url, prefix=self.prefix)
        await store.open()
        self._stack.push_async_callback(store.close)
        quota = Quota(store=store, book=SharedBook(store.quota_counters(), hold_ttl=hold_ttl))
        self._stack.push_async_callback(quota.close)  # closed before its store (last in, first out)
        if keep:
            quota.start()
        return quota


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[Replicas]:
    async with AsyncExitStack() as stack:
        yield Replicas(redis_server.url, stack)


async def admitted(admit: Callable[[], Awaitable[object]]) -> bool:
    try:
        await admit()
    except GatewayError:
        return False
    return True


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Poll ``condition`` until it holds, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.02)


async def test_fifty_concurrent_admissions_on_two_replicas_against_a_budget_for_ten(
    replicas: Replicas,
) -> None:
    a, b = await replicas.replica(), await replicas.replica()
    own = licence(daily_credits=200)  # ten videos at 20
    results = await asyncio.gather(*(admitted(lambda q=q: q.admit_tasks(own, FAST)) for q in [a, b] * 25))
    assert sum(results) == 10
    assert sum(results[0::2]) and sum(results[1::2])  # both replicas admitted some
    for quota in (a, b):
        standing = await quota.standing(own)
        assert (standing.today.credits, standing.today.videos, standing.in_progress) == (200, 10, 10)


async def test_requests_per_minute_hold_across_replicas(replicas: Replicas) -> None:
    a, b = await replicas.replica(), await replicas.replica()
    own = licence(rpm=5)
    results = await asyncio.gather(*(admitted(lambda q=q: q.admit_tasks(own, IMAGE)) for q in [a, b] * 6))
    assert sum(results) == 5
    with pytest.raises(NoCapacityError) as refused:
        await b.admit_tasks(own, IMAGE)
    assert refused.value.code == "rate_limit_exceeded"
    assert 0 < (refused.value.retry_after or 0) <= 60  # when the oldest leaves the window
    window = await a.window(own)
    assert (window.limit, window.used, window.remaining) == (5, 5, 0)
    assert 0 < window.reset <= window.full_reset <= 60


async def test_concurrency_holds_across_replicas_and_a_hold_settles_on_another(replicas: Replicas) -> None:
    a, b = await replicas.replica(), await replicas.replica()
    own = licence(max_concurrency=3)
    made: list[str] = []

    async def order(quota: Quota) -> None:
        made.extend((await quota.admit_tasks(own, FAST)).ids)

    results = await asyncio.gather(*(admitted(lambda q=q: order(q)) for q in [a, b] * 5))
    assert sum(results) == 3
    with pytest.raises(NoCapacityError, match="3 generation"):
        await a.admit_tasks(own, FAST)
    first = made[0]
    settled = await b.settle(first, SUCCEEDED)  # wherever it was admitted
    assert settled is not None
    assert (settled.outcome, settled.credits_reserved, settled.credits_settled) == (
        UsageOutcome.SUCCEEDED,
        20,
        20,
    )
    assert await a.settle(first, FAILED) is None  # settled once only, on any replica
    assert (await a.standing(own)).in_progress == 2
    await a.admit_tasks(own, FAST)  # the slot it freed is free everywhere


async def test_a_retried_settlement_is_answered_again_and_counted_once(replicas: Replicas) -> None:
    a, b = await replicas.replica(), await replicas.replica()
    own = licence(daily_credits=100)
    (work_id,) = (await a.admit_tasks(own, FAST)).ids
    first = await b.settle(work_id, FAILED, nonce="n-1")
    again = await b.settle(work_id, FAILED, nonce="n-1")  # its first answer was lost: the same again
    assert first is not None and again == replace(first, settled_at=again.settled_at if again else 0.0)
    assert await a.settle(work_id, SUCCEEDED, nonce="n-2") is None  # another settlement: none
    standing = await a.standing(own)
    assert (standing.today.credits, standing.today.videos, standing.in_progress) == (0, 0, 0)


async def test_a_dead_replicas_synchronous_hold_expires_and_a_live_ones_is_renewed(
    replicas: Replicas,
) -> None:
    ttl = 0.3
    dead = await replicas.replica(hold_ttl=ttl)  # never renews: its process is gone
    live = await replicas.replica(hold_ttl=ttl, keep=True)
    own = licence(max_concurrency=3, daily_credits=100)
    lost = (await dead.admit_request(own, PRICED, count=2)).ids[0]
    kept = (await live.admit_request(own, PRICED, count=2)).ids[0]
    admitted_at = time.monotonic()
    await live.admit_tasks(own, FAST)  # a task's hold never expires
    await dead.flush()  # the reservation's usage record is in the store, as a dying replica leaves it
    with pytest.raises(NoCapacityError):
        await live.admit_tasks(own, FAST)

    async def reaped() -> bool:
        return (await live.standing(own)).in_progress == 2

    async def long_past_its_first_deadline() -> bool:
        return time.monotonic() > admitted_at + 3 * ttl

    await until(reaped)
    await until(long_past_its_first_deadline)
    await live.keep_once()  # a round after the live hold's first deadline: it was renewed meanwhile
    standing = await live.standing(own)
    assert (standing.in_progress, standing.today.credits) == (2, 20 + 6)  # the task and the kept order
    settled = await live.settle(kept, Settlement(UsageOutcome.SUCCEEDED, delivered=2))
    assert settled is not None and settled.credits_settled == 6
    await live.flush()
    (record,) = await live.records(UsageQuery(outcome="failed"))
    assert (record.id, record.error_code, record.credits_settled) == (lost, "interrupted", 0)


async def test_a_restart_or_two_replicas_starting_at_once_count_nothing_twice(replicas: Replicas) -> None:
    writer = await replicas.replica()  # usage made before the shared counters existed
    now = time.time()
    done = UsageRecord(
        "use-1",
        "lic-a",
        "video",
        "veo_3_1-fast",
        now,
        day_of(now),
        "video-1",
        1,
        20,
        20,
        UsageOutcome.SUCCEEDED,
    )
    running = UsageRecord("video-2", "lic-a", "video", "veo_3_1-fast", now, day_of(now), "video-2", 1, 20)
    gone = UsageRecord("use-3", "lic-a", "image", "nano_banana", now, day_of(now), "", 1, 5)
    store = writer._store
    await store.put_usage([done, running, gone])
    await store.put_task(
        TaskRecord(
            "video-2", "lic-a", Kind.VIDEO, "m", "p", TaskStatus.IN_PROGRESS, TaskStage.GENERATING, now, now
        )
    )
    a, b = await replicas.replica(), await replicas.replica()
    await asyncio.gather(rebuild(a, a._store, now), rebuild(b, b._store, now))
    own = licence()
    expected = (40, 1, 40)  # the video done, the one running; the cut-off request given back
    for quota in (a, b):
        standing = await quota.standing(own)
        assert (standing.today.credits, standing.in_progress, standing.month_credits) == expected
    await a.settle("video-2", SUCCEEDED)
    restarted = await replicas.replica()
    await rebuild(restarted, restarted._store, time.time())
    standing = await restarted.standing(own)
    assert (standing.today.credits, standing.in_progress) == (40, 0)


async def test_redis_away_refuses_admission_at_once_and_settlements_wait_for_it(tmp_path: Path) -> None:
    server = start_server(tmp_path / "redis", keep_data=True)  # its own, to stop and start again
    try:
        async with AsyncExitStack() as stack:
            quota = await Replicas(server.url, stack).replica()
            own = licence(daily_credits=100)
            (work_id,) = (await quota.admit_tasks(own, FAST)).ids
            server.stop()
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError) as refused:
                await quota.admit_tasks(own, FAST)
            assert refused.value.status == 503 and time.monotonic() - started < 3
            task = TaskRecord(
                work_id, "lic-a", Kind.VIDEO, "m", "p", TaskStatus.FAILED, TaskStage.DONE, 1.0, 1.0
            )
            quota.task_finished(task)  # the engine's listener cannot wait: the settler retries
            await asyncio.sleep(0)
            assert quota.settler.waiting() == 1
            server.start()

            async def written() -> bool:
                return quota.settler.waiting() == 0

            await until(written)
            standing = await quota.standing(own)
            assert (standing.today.credits, standing.in_progress) == (0, 0)  # given back, once
            await quota.admit_tasks(own, FAST)  # and admitting again
    finally:
        server.stop()


PRICED = replace(IMAGE, credits=3)
Step = Callable[[Quota, LicenceDefinition, list[str]], Awaitable[str]]


def tasks(spec: GenerationSpec, *, copies: int = 1, count: int = 1) -> Step:
    async def step(quota: Quota, own: LicenceDefinition, ids: list[str]) -> str:
        ids += (await quota.admit_tasks(own, spec, copies=copies, count=count)).ids
        return "admitted"

    return step


def request(spec: GenerationSpec, count: int) -> Step:
    async def step(quota: Quota, own: LicenceDefinition, ids: list[str]) -> str:
        ids += (await quota.admit_request(own, spec, count=count)).ids
        return "admitted"

    return step


def settle(index: int, settlement: Settlement) -> Step:
    async def step(quota: Quota, own: LicenceDefinition, ids: list[str]) -> str:
        settled = await quota.settle(ids[index], settlement)
        return f"settled {settled.credits_settled if settled else None}"

    return step


# Against rpm 8, concurrency 3, 6 images and 3 videos a day, 70 credits a day and 68 a month: every
# kind of refusal, between admissions and settlements.
SCRIPT = [
    tasks(FAST),
    tasks(FAST),
    tasks(FAST, copies=2),  # concurrency
    request(PRICED, 4),
    settle(2, SUCCEEDED),  # 1 of 4 images
    tasks(PRICED, count=6),  # daily images
    tasks(FAST),
    settle(0, FAILED),
    tasks(FAST),
    settle(1, SUCCEEDED),
    tasks(FAST),  # daily videos
    tasks(PRICED, count=3),  # daily credits
    tasks(PRICED, count=2),  # monthly credits
    tasks(PRICED),
    settle(5, SUCCEEDED),
    tasks(IMAGE),
    settle(6, SUCCEEDED),
    tasks(IMAGE),
    tasks(IMAGE),  # requests per minute
    settle(0, SUCCEEDED),  # settled already
]


async def run_script(quota: Quota, own: LicenceDefinition) -> list[str]:
    """What each step of :data:`SCRIPT` answered: admitted, settled, or the refusal's message."""
    ids: list[str] = []
    said: list[str] = []
    for step in SCRIPT:
        try:
            said.append(await step(quota, own, ids))
        except (NoCapacityError, QuotaExceededError) as exc:
            said.append(f"{exc.code}: {exc.message}")
    return said


async def test_the_shared_counters_refuse_as_one_process_does(replicas: Replicas) -> None:
    own = licence(
        rpm=8, max_concurrency=3, daily_images=6, daily_videos=3, daily_credits=70, monthly_credits=68
    )
    local = Quota(store=MemoryStore(), book=LocalBook())
    shared = await replicas.replica()
    expected = await run_script(local, own)
    assert await run_script(shared, own) == expected
    for limit in (
        "requests per minute",
        "in progress",
        "image cap",
        "video cap",
        "daily credit",
        "monthly credit",
    ):
        assert sum(limit in said for said in expected) == 1, limit
    local_standing, shared_standing = await local.standing(own), await shared.standing(own)
    assert local_standing.today == shared_standing.today
    assert local_standing.month_credits == shared_standing.month_credits
    assert local_standing.in_progress == shared_standing.in_progress
    await local.close()
