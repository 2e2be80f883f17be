"""M11: what a pick and a lease cost when replicas share the pool through Redis, against one machine.

On one machine (the SQLite store) a lease is counted in the process: :class:`LocalSlots` grants it
without I/O. With several replicas (the Redis store) each lease is also claimed in Redis (one Lua
script: limit, rate window, daily cap) and released there (one more, which also tells the other
replicas). Both pools here hold the same accounts and are driven the same way, in one run, against
a real ``redis-server`` on loopback started for the measurement:

- *pick*: the selection index alone (the same code in both: picks never wait for Redis);
- *lease, one at a time*: ``async with pool.lease(...)`` entered and left, sequentially (latency);
- *leases/s at 64 at once*: 64 coroutines leasing in a loop (what one process sustains).

Prints a Markdown table; :func:`measure` returns the figures for the report's M11 row.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bench.procs import free_port
from gateway.domain import Capability, Secret, Tier
from gateway.pool.account import Account
from gateway.pool.pool import AccountPool, LeaseRequest
from gateway.store.redis_store import RedisStore

ACCOUNTS = 1000
WANT = LeaseRequest(Capability.IMAGE, tier=Tier.PRO)
CONCURRENCY = 64


@dataclass(frozen=True)
class Figures:
    """One backend's figures (seconds per operation, leases per second)."""

    pick: float
    lease: float
    leases_per_second: float


def accounts() -> list[Account]:
    """The same accounts for both pools: Ultra, 4 image slots each, no rate or daily bound."""
    return [
        Account(
            id=f"acc_{i:05d}",
            label=str(i),
            session_token=Secret(""),
            tier=Tier.ULTRA,
            limits={Capability.IMAGE: 4, Capability.VIDEO: 2},
        )
        for i in range(ACCOUNTS)
    ]


@asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A throwaway ``redis-server`` on a free loopback port (no persistence); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: `make bench` installs it (Debian's redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", directory]
        process = await asyncio.create_subprocess_exec(
            binary, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            assert process.stdout is not None
            async for line in process.stdout:  # ready once its log says so (not after a sleep)
                if b"Ready to accept connections" in line:
                    break
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            await process.wait()


async def run(pool: AccountPool, picks: int, leases: int, seconds: float) -> Figures:
    """The three figures for one pool."""
    index, now = pool.table.index, time.time()
    started = time.perf_counter()
    for _ in range(picks):
        index.pick(WANT, now)
    pick_s = (time.perf_counter() - started) / picks
    for _ in range(min(200, leases)):  # warm up: connections made, scripts loaded
        async with pool.lease(WANT):
            pass
    started = time.perf_counter()
    for _ in range(leases):
        async with pool.lease(WANT):
            pass
    lease_s = (time.perf_counter() - started) / leases
    done = 0
    deadline = time.perf_counter() + seconds

    async def leaser() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with pool.lease(WANT):
                pass
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(leaser() for _ in range(CONCURRENCY)))
    return Figures(pick_s, lease_s, done / (time.perf_counter() - started))


async def measure(
    *, picks: int = 20_000, leases: int = 3_000, seconds: float = 3.0
) -> tuple[Figures, Figures]:
    """(one machine, Redis) figures, measured one after the other in this process."""
    local = await run(AccountPool(accounts()), picks, leases, seconds)
    async with redis_server() as url:
        store = RedisStore(url, prefix=f"bench-{uuid.uuid4().hex[:8]}:")
        await store.open()
        ledger = store.slot_ledger()
        pool = AccountPool(accounts(), ledger=ledger)
        renewing = asyncio.create_task(pool.ledger.run())
        try:
            shared = await run(pool, picks, leases, seconds)
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            await store.close()
    return local, shared


def render(local: Figures, shared: Figures) -> str:
    """The Markdown table."""
    rows = [
        ("pick (selection index) µs", local.pick * 1e6, shared.pick * 1e6),
        ("lease, one at a time µs", local.lease * 1e6, shared.lease * 1e6),
        (f"leases/s at {CONCURRENCY} at once", local.leases_per_second, shared.leases_per_second),
    ]
    lines = [
        f"## A pick and a lease on Redis against one machine ({ACCOUNTS:,} accounts, one process)\n",
        "| | one machine (SQLite store: slots in the process) | Redis (slots shared by replicas) "
        "| Redis / one machine |",
        "|---|---:|---:|---:|",
    ]
    for name, one, redis in rows:
        lines.append(f"| {name} | {one:,.2f} | {redis:,.2f} | {redis / one:.2f} |")
    return "\n".join(lines)


def main() -> None:
    """Print the table."""
    local, shared = asyncio.run(measure())
    print(render(local, shared))


if __name__ == "__main__":
    main()
