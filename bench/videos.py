"""The video scenarios, on a fresh gateway: M6 (held SSE chat streams) and M7 (videos in flight).

M6 opens video chat streams in steps (1k, 5k, 10k, as ``ulimit -n`` allows) while the fake keeps
every video running for an hour, and reads the gateway's RSS once every step's videos are submitted.
The streams are then closed by the client: their videos keep running (the gateway's policy), so
they are M7's videos in flight, whose ``GET /v1/videos/{id}`` is measured against the bare handler
with wrk, as is that of a few finished ones; last, the gateway's CPU over a quiet window, which is
then upstream polling (the idle figure is measured first and shown as the reference).
"""

from __future__ import annotations

import asyncio
import resource
import time

import orjson

from bench import targets
from bench.openloop import Streams, streams_session
from bench.plan import Bench, answer, errors_note, header_of, sized_like
from bench.procs import cpu_share, rss_mb
from bench.report import Row, at_least, at_most

RUNNING_SECONDS = 3600.0  # the fake keeps M6/M7's videos running this long
FINISHED_SECONDS = 0.5
FD_MARGIN = 1500  # descriptors kept for everything but the streams (upstream pools, SQLite, logs)
PER_STREAM_KB = 500 * 1024 / 10_000  # 500 MB for 10k streams


async def video_phase(b: Bench) -> None:
    """M6 then M7 on a fresh gateway process."""
    b.progress("video scenarios on a fresh gateway")
    await b.stack.restart_gateway()
    idle = await cpu_share(b.stack.gateway.pid, min(5.0, b.plan.cpu_window))
    finished = await create_finished(b)
    await b.stack.configure_fake(video_seconds=RUNNING_SECONDS)
    b.progress("M6")
    running = await m6(b)
    done = await wait_completed(b, finished)
    b.progress("M7")
    await m7(b, running, done, idle)


async def create_finished(b: Bench) -> list[str]:
    """Videos the fake finishes at once (M7's finished ones)."""
    await b.stack.configure_fake(video_seconds=FINISHED_SECONDS)
    submits = (await b.stack.fake_calls()).get("video.submit", 0)
    ids = []
    for _ in range(b.plan.finished_videos):
        status, body = await answer(targets.video(b.gw))
        if status == 200:
            ids.append(orjson.loads(body)["id"])
    await wait_submits(b, submits + len(ids))  # the fake times a video from its submit
    return ids


def stream_cap() -> int:
    """How many streams the descriptor limit allows each process."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(0, soft - FD_MARGIN)


async def m6(b: Bench) -> list[str]:
    """Hold video chat streams in steps; memory per stream at each. Returns their video ids."""
    cap = stream_cap()
    steps = [n for n in b.plan.streams if n <= cap] or [cap]
    if steps[-1] < b.plan.streams[-1]:
        b.notes.append(f"M6: `ulimit -n` allows {cap:,} streams per process; the last step is {steps[-1]:,}.")
    req = targets.chat(b.gw, "veo_3_1-fast", stream=True)
    pid = b.stack.gateway.pid
    base_rss, base_submits = rss_mb(pid), (await b.stack.fake_calls()).get("video.submit", 0)
    streams = Streams(streams_session())
    try:
        for n in steps:
            b.progress(f"M6: opening streams up to {n:,}")
            started = time.monotonic()
            await streams.open(req, n - streams.opened)
            submitted = await wait_submits(b, base_submits + n)
            await asyncio.sleep(0.5 if b.plan.quick else 3.0)
            rss = rss_mb(pid)
            note = (
                f"opened in {time.monotonic() - started:.1f} s; {submitted - base_submits:,} videos submitted"
            )
            if streams.failed:
                note += f"; {streams.failed:,} streams failed"
            what = f"M6 {n:,} video chat streams held: gateway memory per stream"
            bar = at_most(PER_STREAM_KB, "gateway", "≤ 51 KB (500 MB / 10k)")
            b.rows.append(
                Row(what, (rss - base_rss) * 1024 / max(1, streams.opened), None, "KB", "none", bar, note)
            )
        bar = at_most(500, "gateway", "≤ 500 MB") if steps[-1] >= 10_000 else None
        what = f"M6 gateway RSS holding {steps[-1]:,} streams (before: {base_rss:.0f} MB)"
        b.rows.append(Row(what, rss, None, "MB", "none", bar, "" if bar else "the bar is for 10k streams"))
    finally:
        await streams.close()
    return [i for i in streams.task_ids if i]


async def wait_submits(b: Bench, target: int) -> int:
    """Wait until the fake has seen ``target`` video submits (or a minute passed); the count."""
    deadline = time.monotonic() + (10.0 if b.plan.quick else 120.0)
    while True:
        count = (await b.stack.fake_calls()).get("video.submit", 0)
        if count >= target or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.2)


async def wait_completed(b: Bench, ids: list[str]) -> list[str]:
    """The ids whose video completed (waiting up to a minute for the rest)."""
    deadline = time.monotonic() + 60.0
    done: list[str] = []
    while ids and time.monotonic() < deadline:
        for video_id in list(ids):
            status, body = await answer(targets.video_get(b.gw, video_id))
            if status == 200 and orjson.loads(body)["status"] == "completed":
                done.append(video_id)
                ids.remove(video_id)
        if ids:
            await asyncio.sleep(0.2)
    return done


async def video_gets(b: Bench, ids: list[str], state: str) -> None:
    """``GET /v1/videos/{id}`` over ``ids`` in rotation, c=64, against the bare handler."""
    what = f"M7 `GET /v1/videos/{{id}}`, {len(ids):,} {state} videos in rotation, c=64"
    if not ids:
        b.rows.append(Row(what, 0.0, None, "req/s", "ratio", at_least(0.7), f"no {state} video to ask for"))
        return
    reqs = [targets.video_get(b.gw, i) for i in ids]
    ref = targets.reference(b.ref, await sized_like(reqs[0]))
    poll_after = await header_of(reqs[0], "openai-poll-after-ms")
    ours, theirs = await b.pair(reqs, [ref], 64)
    note = "; ".join(n for n in (errors_note(ours, theirs), f"`openai-poll-after-ms`: {poll_after}") if n)
    b.rows.append(Row(what, ours.rps, theirs.rps, "req/s", "ratio", at_least(0.7), note))


async def m7(b: Bench, running: list[str], finished: list[str], idle: float) -> None:
    """GETs of running and finished videos; then the CPU the gateway spends with them in flight."""
    await video_gets(b, running, "running")
    await video_gets(b, finished, "finished")
    pid = b.stack.gateway.pid
    before = (await b.stack.fake_calls()).get("video.status", 0)
    share = await cpu_share(pid, b.plan.cpu_window)
    calls = (await b.stack.fake_calls()).get("video.status", 0) - before
    every = b.plan.poll_interval
    what = f"M7 gateway CPU, {len(running):,} videos in flight, polled every {every:g} s (vs idle)"
    note = f"{calls / b.plan.cpu_window:.1f} status calls/s to the fake over {b.plan.cpu_window:g} s"
    b.rows.append(
        Row(what, share * 100, idle * 100, "%", "added", at_most(20, "added", "added ≤ 20 % of a core"), note)
    )
