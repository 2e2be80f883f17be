"""The request scenarios (M1-M5, M9, M10), each against its reference in the same run.

References: the bare handler (same core, same event loop, an answer of the gateway's size) for
throughput; the direct calls to the fake for the latency the gateway adds (M1).
"""

from __future__ import annotations

import asyncio

from bench import targets
from bench.drivers import Req
from bench.openloop import open_loop
from bench.plan import Bench, errors_note, median, sized_like
from bench.procs import cpu_share, rss_mb
from bench.report import Row, at_least, at_most

FRONTIER = (5.0, 10.0, 50.0)


async def m9_idle(b: Bench) -> float:
    """M9: the gateway's RSS at rest after start (and the reference's)."""
    await asyncio.sleep(0.3 if b.plan.quick else 2.0)
    idle = rss_mb(b.stack.gateway.pid)
    b.rows.append(
        Row(
            "M9 RSS idle",
            idle,
            rss_mb(b.stack.reference.pid),
            "MB",
            "none",
            at_most(60, "gateway", "≤ 60 MB"),
        )
    )
    return idle


async def m1(b: Bench) -> None:
    """M1: added latency at c=1 over the direct upstream calls; and ``/v1/models`` over the bare handler."""
    image = targets.image(b.gw)
    await sized_like(image)
    ours, direct = await b.alternate(b.driver.chain, [image], targets.direct_chain(b.stack.fake.url))
    what = "M1 added latency c=1, images url (vs its 4 upstream calls made directly)"
    note = errors_note(ours, direct)
    b.rows.append(
        Row(f"{what}, p50", ours.p50, direct.p50, "ms", "added", at_most(1.0, "added", "added ≤ 1 ms"), note)
    )
    b.rows.append(
        Row(f"{what}, p99", ours.p99, direct.p99, "ms", "added", at_most(3.0, "added", "added ≤ 3 ms"))
    )
    models = targets.models(b.gw)
    bare = targets.reference(b.ref, await sized_like(models))
    ours, theirs = await b.alternate(b.driver.chain, [models], [bare])
    b.rows.append(Row("M1 `GET /v1/models` c=1 vs bare handler, p50", ours.p50, theirs.p50, "ms", "added"))
    b.rows.append(Row("M1 `GET /v1/models` c=1 vs bare handler, p99", ours.p99, theirs.p99, "ms", "added"))


async def m2(b: Bench) -> None:
    """M2: added latency at fixed rates, open loop, ``GET /v1/models`` against the bare handler."""
    models = targets.models(b.gw)
    bare = targets.reference(b.ref, await sized_like(models))
    overhead: list[float] = []
    for rate in b.plan.rates:
        ours, theirs = [], []
        for _ in range(b.plan.repeats):
            got = await open_loop(models, rate, b.plan.seconds)
            overhead += got.overhead_ms
            ours.append(got.sample)
            theirs.append((await open_loop(bare, rate, b.plan.seconds)).sample)
        gw, ref = median(ours), median(theirs)
        what = f"M2 added latency at {rate:,} req/s open loop, `GET /v1/models` vs bare"
        bar50, bar99 = at_most(1.0, "added", "added < 1 ms"), at_most(5.0, "added", "added < 5 ms")
        b.rows.append(Row(f"{what}, p50", gw.p50, ref.p50, "ms", "added", bar50, errors_note(*ours, *theirs)))
        b.rows.append(Row(f"{what}, p99", gw.p99, ref.p99, "ms", "added", bar99))
    if overhead:
        top = max(overhead)
        b.notes.append(
            f"M2: the gateway's own `x-gateway-overhead-ms` header (whole ms) was at most {top:g} ms."
        )


async def throughput(b: Bench, metric: str, req: Req, conns: int, bar: float) -> None:
    """A max-req/s pair: the gateway's route against the bare handler answering as many bytes."""
    size = await sized_like(req)
    ref = targets.reference(b.ref, size, req.method, req.body)
    ours, theirs = await b.pair([req], [ref], conns)
    b.rows.append(
        Row(metric, ours.rps, theirs.rps, "req/s", "ratio", at_least(bar), errors_note(ours, theirs))
    )


async def m3_m4(b: Bench) -> None:
    """M3 (``/v1/models``, c=64) and M4 (image generation at c=32: url, chat, chat stream)."""
    await throughput(b, "M3 `GET /v1/models`, c=64", targets.models(b.gw), 64, 0.7)
    await throughput(b, "M4 `POST /v1/images/generations` url, c=32", targets.image(b.gw), 32, 0.10)
    chat = targets.chat(b.gw, "nano_banana", stream=False)
    await throughput(b, "M4 chat image, non-stream, c=32", chat, 32, 0.10)
    stream = targets.chat(b.gw, "nano_banana", stream=True)
    await throughput(b, "M4 chat image, stream, c=32", stream, 32, 0.08)


async def m4b(b: Bench) -> None:
    """M4b: a ~1.3 MB base64 result at c=8, and the gateway's peak RSS meanwhile."""
    await b.stack.configure_fake(big=True)
    try:
        big = targets.image(b.gw, "b64_json")
        size = await sized_like(big)
        ref = targets.reference(b.ref, size, "POST", big.body)
        peak = [rss_mb(b.stack.gateway.pid)]
        watcher = asyncio.create_task(watch_rss(b.stack.gateway.pid, peak))
        try:
            ours, theirs = await b.pair([big], [ref], 8)
        finally:
            watcher.cancel()
    finally:
        await b.stack.configure_fake(big=False)
    what = f"M4b images b64_json ({size / 1e6:.2f} MB answer), c=8"
    b.rows.append(
        Row(
            what,
            ours.rps,
            theirs.rps,
            "req/s",
            "ratio",
            at_least(300, "gateway", "≥ 300 req/s"),
            errors_note(ours, theirs),
        )
    )
    b.rows.append(
        Row(
            "M4b gateway peak RSS during it",
            max(peak),
            None,
            "MB",
            "none",
            at_most(300, "gateway", "≤ 300 MB"),
        )
    )


async def watch_rss(pid: int, peak: list[float]) -> None:
    """Keep the highest RSS seen (every 100 ms)."""
    while True:
        peak[0] = max(peak[0], rss_mb(pid))
        await asyncio.sleep(0.1)


async def m5(b: Bench) -> None:
    """M5: images url over a sweep of concurrency; the best req/s whose p99 stays under each bound."""
    image = targets.image(b.gw)
    ref = targets.reference(b.ref, await sized_like(image), "POST", image.body)
    points: dict[str, list[tuple[int, float, float, float]]] = {"gateway": [], "reference": []}
    for conns in b.plan.sweep:
        for name, req in (("gateway", image), ("reference", ref)):
            got = await b.driver.closed([req], conns, b.plan.sweep_seconds)
            points[name].append((conns, got.rps, got.p50, got.p99))
    for name, pts in points.items():
        b.curves[f"{name} req/s"] = [(c, rps) for c, rps, _, _ in pts]
        b.curves[f"{name} p50 ms"] = [(c, p50) for c, _, p50, _ in pts]
        b.curves[f"{name} p99 ms"] = [(c, p99) for c, _, _, p99 in pts]
    for bound in FRONTIER:
        best = {
            name: max((rps for _, rps, _, p99 in pts if p99 <= bound), default=0.0)
            for name, pts in points.items()
        }
        what = f"M5 images url: best req/s with p99 ≤ {bound:g} ms (c = {b.plan.sweep[0]}…{b.plan.sweep[-1]})"
        b.rows.append(Row(what, best["gateway"], best["reference"], "req/s", "ratio"))


async def m10(b: Bench) -> None:
    """M10: an invalid-key flood against the bare handler; the fake must see no call at all."""
    flood = targets.wrong_key_flood(b.gw)
    size = await sized_like(flood, expect=401)
    ref = targets.reference(b.ref, size, "POST", flood.body)
    before = sum((await b.stack.fake_calls()).values())
    ours, theirs = await b.pair([flood], [ref], 64, expect=401)
    calls = sum((await b.stack.fake_calls()).values()) - before
    b.rows.append(
        Row(
            "M10 invalid-key flood (images route), c=64",
            ours.rps,
            theirs.rps,
            "req/s",
            "ratio",
            at_least(0.8),
            errors_note(ours),
        )
    )
    b.rows.append(
        Row("M10 upstream calls during the flood", calls, None, "calls", "none", at_most(0, "gateway", "= 0"))
    )


async def m9_after(b: Bench, idle: float) -> None:
    """M9: RSS a few seconds after the load stopped, against the idle figure."""
    await asyncio.sleep(0.5 if b.plan.quick else 5.0)
    share = await cpu_share(b.stack.gateway.pid, 0.5 if b.plan.quick else 2.0)
    after = rss_mb(b.stack.gateway.pid)
    b.rows.append(
        Row("M9 RSS after the load (vs idle)", after, idle, "MB", "ratio", at_most(2.0, "ratio", "≤ 2× idle"))
    )
    b.notes.append(f"M9: the gateway used {share:.1%} of a core at rest after the load.")


async def request_phase(b: Bench) -> None:
    """Every request scenario on one fresh gateway, the lightest first."""
    b.progress("request scenarios on a fresh gateway")
    idle = await m9_idle(b)
    for step in (m1, m3_m4, m2, m4b, m5, m10):
        b.progress(f"{step.__name__.replace('_', ' and ').upper()}")
        await step(b)
    await m9_after(b, idle)
