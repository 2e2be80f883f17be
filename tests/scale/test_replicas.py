"""Three gateway processes, one simulator process and one real Redis (issue 14's "done when"):

- per-account limits hold globally under a burst spread over every replica (the simulator's own
  count of concurrent generation calls per account is the witness);
- a licence budget holds across replicas;
- a replica killed while its video runs: another replica takes the task over and completes it,
  with exactly one submit reaching Flow;
- Redis going away: requests fail fast with 503 and service resumes when it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yarl

from tests.scale.cluster import ACCOUNTS, BUDGET_LICENCE, Cluster, Shape, cluster
from tests.support.redis_server import RedisServer, start_server, unique_prefix

IMAGE = {"model": "nano_banana", "prompt": "a fox in the snow", "response_format": "url"}
VIDEO = {"model": "veo_3_1-fast", "prompt": "a fox running through snow"}


async def until(condition: Any, *, seconds: float, every: float = 0.1) -> Any:
    """Poll an async condition until it returns something truthy (a process's state is only
    visible through its API), or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"not reached within {seconds} s")


async def test_limits_budgets_and_takeover_hold_across_three_replicas(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    async with cluster(tmp_path, redis_server.url, unique_prefix()) as c:
        await _burst_respects_account_limits(c)
        await _licence_budget_holds(c)
        await _killed_replicas_video_completes_elsewhere(c)


async def _burst_respects_account_limits(c: Cluster) -> None:
    requests = 8 * c.shape.image_slots * len(ACCOUNTS)
    results = await asyncio.gather(
        *(c.post(i % len(c.replicas), "/v1/images/generations", IMAGE) for i in range(requests))
    )
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: requests}, (statuses, [body for status, body in results if status != 200][:3])
    peaks = (await c.sim_stats())["max_inflight"]
    for _, email in ACCOUNTS:
        # Never more than an account's limit at once, all replicas together; and the limit was used.
        assert peaks[email] == c.shape.image_slots, peaks
    # Shared media: a result made by one replica is served by another (its signed URL, any host).
    made_by_first = yarl.URL(results[0][1]["data"][0]["url"])
    elsewhere = yarl.URL(c.replicas[1].url).with_path(made_by_first.path).with_query(made_by_first.query)
    async with c.http.get(elsewhere) as resp:
        assert resp.status == 200 and resp.content_type.startswith("image/")


async def _licence_budget_holds(c: Cluster) -> None:
    requests = 3 * c.shape.budget_images
    results = await asyncio.gather(
        *(
            c.post(i % len(c.replicas), "/v1/images/generations", IMAGE, key=BUDGET_LICENCE)
            for i in range(requests)
        )
    )
    statuses = Counter(status for status, _ in results)
    assert statuses[200] == c.shape.budget_images, statuses
    assert statuses[429] == requests - c.shape.budget_images, statuses


async def _killed_replicas_video_completes_elsewhere(c: Cluster) -> None:
    submits_before = await c.calls("video.submit")
    status, body = await c.post(0, "/flow/v1/videos", VIDEO)
    assert status == 200, body
    video_id = body["id"]

    async def submitted() -> bool:
        return await c.calls("video.submit") > submits_before

    await until(submitted, seconds=30)
    c.kill(0)

    async def done() -> dict[str, Any] | None:
        status, doc = await c.get(1, f"/flow/v1/videos/{video_id}")
        assert status == 200, doc
        return doc if doc["status"] in ("completed", "failed") else None

    doc = await until(done, seconds=c.shape.claim_ttl + c.shape.video_seconds + 60, every=0.3)
    assert doc["status"] == "completed", (doc, c.log_of(1)[-2000:])
    assert await c.calls("video.submit") == submits_before + 1  # taken over, never submitted again
    status, _ = await c.get(2, f"/flow/v1/videos/{video_id}")
    assert status == 200


@pytest.mark.parametrize("replicas", [2])
async def test_redis_away_fails_fast_then_service_resumes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, replicas: int
) -> None:
    redis = start_server(tmp_path_factory.mktemp("redis-away"), keep_data=True)
    try:
        async with cluster(tmp_path, redis.url, unique_prefix(), Shape(replicas=replicas)) as c:
            assert (await c.post(0, "/v1/images/generations", IMAGE))[0] == 200
            redis.stop()
            started = time.monotonic()
            results = await asyncio.gather(
                *(c.post(i % replicas, "/v1/images/generations", IMAGE) for i in range(4))
            )
            assert {status for status, _ in results} == {503}, results
            assert all(body["error"]["code"] == "store_unavailable" for _, body in results), results
            assert time.monotonic() - started < 15  # fast: not a hang until some far timeout
            redis.start()

            async def served() -> bool:
                return (await c.post(1, "/v1/images/generations", IMAGE))[0] == 200

            await until(served, seconds=30, every=0.5)
            assert (await c.post(0, "/v1/images/generations", IMAGE))[0] == 200
    finally:
        redis.stop()


async def test_a_rolling_restart_hands_running_videos_over_at_once(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """SIGTERM (a rolling update, a scale-down): the stopping replica hands its tasks over as it goes.
    The claims would only expire after a minute here, so the hand-over alone can finish the video."""
    shape = Shape(replicas=2, claim_ttl=60.0)
    async with cluster(tmp_path, redis_server.url, unique_prefix(), shape) as c:
        status, body = await c.post(0, "/flow/v1/videos", VIDEO)
        assert status == 200, body

        async def submitted() -> bool:
            return await c.calls("video.submit") == 1

        await until(submitted, seconds=30)
        stopping = time.monotonic()
        await c.replicas[0].stop()  # SIGTERM, then waits for the process to exit
        assert c.replicas[0].proc is not None and c.replicas[0].proc.returncode == 0, c.log_of(0)

        async def done() -> dict[str, Any] | None:
            status, doc = await c.get(1, f"/flow/v1/videos/{body['id']}")
            assert status == 200, doc
            return doc if doc["status"] in ("completed", "failed") else None

        doc = await until(done, seconds=30, every=0.2)
        assert doc["status"] == "completed", (doc, c.log_of(1)[-2000:])
        assert time.monotonic() - stopping < shape.claim_ttl  # handed over, not expired
        assert await c.calls("video.submit") == 1
