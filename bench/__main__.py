"""``python -m bench``: the gateway against a bare handler and a fake Flow, as one Markdown table.

Full mode (``make bench``): wrk and taskset, about 11-12 minutes on 2 cores; the report is
printed and written to ``bench/results/`` (``bench.md``, ``throughput.svg``, ``latency.svg``).
``--quick``: every row at tiny sizes in well under a minute, with the Python client only and
nothing pinned: a smoke check (``tests/bench``), not a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bench import pick, shared_lease
from bench.drivers import PyClient, Wrk
from bench.machine import header
from bench.plan import Bench, Plan
from bench.plot import chart
from bench.procs import ROOT, GatewayShape, Pinning, Stack, raise_fd_limit
from bench.report import Row, at_most, table
from bench.scenarios import request_phase
from bench.videos import video_phase

RESULTS = ROOT / "bench" / "results"


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke mode: seconds, Python client, no pinning")
    parser.add_argument("--out", type=Path, help="where to write bench.md and the plots")
    parser.add_argument("--seconds", type=float, default=5.0, help="full mode: seconds per measured point")
    parser.add_argument("--repeats", type=int, default=3, help="full mode: alternations per pair")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (configs, logs)")
    return parser.parse_args(argv)


def m8(plan: Plan) -> tuple[Row, str]:
    """M8: the pool's pick at 10k accounts (bench/pick.py) against a linear scan, in this process."""
    results = pick.measure(plan.pick_shares)
    share, alone, cycle, scan = max(results, key=lambda r: r[2])
    shares = "/".join(f"{s:.0%}" for s in plan.pick_shares)
    what = f"M8 account pick + lease cycle at {pick.N:,} accounts (worst of {shares} cooling: {share:.0%})"
    note = f"a lease cycle: pick, count, re-index on release; the pick alone: {alone * 1e6:.2f} µs"
    row = Row(what, cycle * 1e6, scan * 1e6, "µs", "ratio", at_most(5, "gateway", "≤ 5 µs"), note)
    return row, pick.render(results)


def m11(plan: Plan) -> tuple[Row, str]:
    """M11: a lease on the Redis ledger (several replicas) against the local one (bench/shared_lease.py)."""
    sizes = {"picks": 2_000, "leases": 300, "seconds": 0.5} if plan.quick else {}
    local, shared = run_async(shared_lease.measure(**sizes))
    what = f"M11 lease cycle with slots shared in Redis ({shared_lease.ACCOUNTS:,} accounts)"
    note = (
        f"reference: one machine's lease ({local.lease * 1e6:.1f} µs); picks cost the same "
        f"({shared.pick * 1e6:.2f} µs); {shared.leases_per_second:,.0f} leases/s at "
        f"{shared_lease.CONCURRENCY} at once on Redis, {local.leases_per_second:,.0f} on one machine"
    )
    row = Row(what, shared.lease * 1e6, local.lease * 1e6, "µs", "ratio", None, note)
    return row, shared_lease.render(local, shared)


def plots(b: Bench, out: Path) -> list[str]:
    """Throughput and latency against concurrency (M5) as SVG files; their names."""
    if not b.curves:
        return []
    rps = [(name, b.curves[f"{name} req/s"]) for name in ("gateway", "reference")]
    lat = [(f"{n} {q}", b.curves[f"{n} {q} ms"]) for n in ("gateway", "reference") for q in ("p50", "p99")]
    (out / "throughput.svg").write_text(
        chart("images url: req/s against concurrency", "req/s (log)", rps, logy=True)
    )
    (out / "latency.svg").write_text(
        chart("images url: latency against concurrency", "ms (log)", lat, logy=True)
    )
    return ["throughput.svg", "latency.svg"]


async def measure(plan: Plan, pinning: Pinning, scratch: Path) -> tuple[Bench, list[str]]:
    """Start the servers, run both phases, stop them; the findings and the load commands used."""
    stack = Stack.build(scratch, pinning, GatewayShape(poll_interval=plan.poll_interval))
    driver = PyClient() if plan.quick else Wrk(pinning.prefix(pinning.load), scratch)
    b = Bench(stack, driver, plan)
    b.progress("quick mode: about 30 s" if plan.quick else "full mode: about 12 minutes on 2 cores")
    try:
        await stack.start()  # inside: a gateway that fails to start must not leave the others running
        await request_phase(b)
        await video_phase(b)
    finally:
        await stack.stop()
    return b, driver.commands


def report(b: Bench, head: str, extra: list[str]) -> str:
    """The whole Markdown report."""
    parts = [head, "", table(b.rows)]
    if b.notes:
        parts += ["", *(f"- {note}" for note in b.notes)]
    return "\n".join(parts + extra) + "\n"


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop when installed (the load generators need every microsecond)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the report (and write it to ``--out``, or bench/results in full mode)."""
    args = arguments(argv)
    fds = raise_fd_limit()
    plan = Plan.quick_plan() if args.quick else Plan.full(args.seconds, args.repeats)
    pinning = Pinning.choose(quick=args.quick)
    if not args.quick and shutil.which("wrk") is None:
        sys.stderr.write("wrk is missing: `make bench` installs it (apt-get install -y wrk, as root)\n")
        return 2
    if pinning.load is not None:
        os.sched_setaffinity(0, {pinning.load})  # the harness's own clients run on the load core
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    started = time.monotonic()
    try:
        b, commands = run_async(measure(plan, pinning, scratch))
    except BaseException:
        sys.stderr.write(f"the run failed; its configs and logs are in {scratch}\n")
        raise
    b.progress("M8")
    row, pick_table = m8(plan)
    b.rows.append(row)
    lease_table = "M11 not measured: redis-server is missing (`make bench` installs it)."
    if shutil.which("redis-server") is not None or not plan.quick:
        b.progress("M11")
        row, lease_table = m11(plan)
        b.rows.append(row)
    out = args.out or (None if args.quick else RESULTS)
    extra = [f"\nTook {time.monotonic() - started:.0f} s."]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        extra += [f"Plots: {out / name}" for name in plots(b, out)]
    if not args.quick:
        extra += ["", pick_table, "", lease_table]
    text = report(b, header(b.stack, commands, quick=plan.quick, fds=fds), extra)
    if out is not None:
        (out / "bench.md").write_text(text)
    sys.stdout.write(text)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
