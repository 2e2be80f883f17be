"""Several gateway processes on one Redis, in front of one simulator process: the multi-replica
deployment of issue 14, on loopback.

Each server is a real process (``python -m gateway serve``, ``python -m gateway.simulator``), so a
replica can be killed (SIGKILL: no shutdown, no hand-over) the way a node dies. The replicas share
the Redis store (one prefix per cluster) and a media directory (the shared volume a one-machine
compose file mounts). The simulator's ``/_sim/stats`` is the witness of what reached "Flow".
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.procs import Server, free_port
from gateway.licensing import hash_key

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "config" / "models.toml"
CAPTCHA_KEY = "cluster-captcha-key"
LICENCE = "sk-cluster-0123456789abcdef0123456789abcdef"
BUDGET_LICENCE = "sk-cluster-budget-0123456789abcdef01234567"
ADMIN_KEY = "sk-admin-cluster-0123456789abcdefghijklmnop"
ACCOUNTS = (("cluster-1", "one@cluster.invalid"), ("cluster-2", "two@cluster.invalid"))


@dataclass(frozen=True)
class Shape:
    """What the cluster's config says: per-account slots, the budget licence's daily images, how
    long a dead replica's claims and slots last, and the simulator's pace."""

    replicas: int = 3
    image_slots: int = 2
    video_slots: int = 1
    budget_images: int = 6
    claim_ttl: float = 3.0
    latency: float = 0.25
    video_seconds: float = 6.0
    extra: str = ""


def simulator_accounts(path: Path) -> Path:
    """The simulator's accounts file (Ultra, plenty of credits)."""
    path.write_text(
        "".join(
            f'[[accounts]]\nsession_token = "{token}"\nemail = "{email}"\ntier = "PAYGATE_TIER_TWO"\n'
            "credits = 100000\n\n"
            for token, email in ACCOUNTS
        )
    )
    return path


def gateway_config(run_dir: Path, port: int, sim: str, redis_url: str, prefix: str, shape: Shape) -> Path:
    """One replica's TOML: the shared Redis and media, the simulator as Flow, two licences."""
    accounts = "".join(
        f'[[accounts]]\nlabel = "{token}"\nsession_token = "{token}"\ngroups = ["ultra"]\n'
        f"image_concurrency = {shape.image_slots}\nvideo_concurrency = {shape.video_slots}\n\n"
        for token, _ in ACCOUNTS
    )
    path = run_dir / f"gateway-{port}.toml"
    path.write_text(
        f'catalog_path = "{CATALOG}"\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[logging]\nlevel = "info"\nformat = "json"\n'
        f'[store]\nurl = "{redis_url}"\nprefix = "{prefix}"\n'
        f"[pool]\nwait_timeout = 60.0\n"
        f'[media]\nroot = "{run_dir / "media"}"\nallow_private_urls = true\n'
        f'[flow]\nlabs_base_url = "{sim}"\napi_base_url = "{sim}"\n'
        f'[captcha]\nbase_url = "{sim}/captcha"\nclient_key = "{CAPTCHA_KEY}"\npoll_interval = 0.05\n'
        f"[tasks]\npoll_interval = 0.2\npoll_after_ms = 100\nclaim_ttl = {shape.claim_ttl}\n"
        f'[admin]\nkey_sha256 = "{hash_key(ADMIN_KEY)}"\n'
        f"{shape.extra}\n"
        f'[[licences]]\nid = "cluster"\nkey_sha256 = "{hash_key(LICENCE)}"\n\n'
        f'[[licences]]\nid = "budget"\nkey_sha256 = "{hash_key(BUDGET_LICENCE)}"\n'
        f"daily_images = {shape.budget_images}\n\n{accounts}"
    )
    return path


@dataclass
class Cluster:
    """The simulator and the replicas, started; ``http`` is a client session for the tests."""

    sim: Server
    replicas: list[Server]
    http: aiohttp.ClientSession
    run_dir: Path
    shape: Shape
    commands: dict[str, list[str]] = field(default_factory=dict)

    async def sim_stats(self) -> dict[str, Any]:
        """The simulator's counters (``/_sim/stats``)."""
        async with self.http.get(self.sim.url + "/_sim/stats") as resp:
            stats: dict[str, Any] = await resp.json()
            return stats

    async def calls(self, route: str) -> int:
        """Calls of one simulator route so far (every account, with or without a token)."""
        return sum(c["count"] for c in (await self.sim_stats())["calls"] if c["route"] == route)

    async def post(
        self, replica: int, path: str, body: dict[str, Any], key: str = LICENCE
    ) -> tuple[int, Any]:
        """POST JSON to one replica; its status and JSON body."""
        url = self.replicas[replica].url + path
        async with self.http.post(url, json=body, headers={"Authorization": f"Bearer {key}"}) as resp:
            return resp.status, await resp.json(content_type=None)

    async def get(self, replica: int, path: str, key: str = LICENCE) -> tuple[int, Any]:
        """GET JSON from one replica."""
        url = self.replicas[replica].url + path
        async with self.http.get(url, headers={"Authorization": f"Bearer {key}"}) as resp:
            return resp.status, await resp.json(content_type=None)

    def kill(self, replica: int) -> None:
        """SIGKILL a replica: no drain, no hand-over, like a node that dies."""
        proc = self.replicas[replica].proc
        assert proc is not None and proc.returncode is None
        proc.send_signal(signal.SIGKILL)

    def log_of(self, replica: int) -> str:
        """What a replica logged (for failure messages)."""
        return self.replicas[replica].log.read_text(errors="replace")[-4000:]


@asynccontextmanager
async def cluster(
    run_dir: Path, redis_url: str, prefix: str, shape: Shape = Shape()
) -> AsyncIterator[Cluster]:
    """Start the simulator and ``shape.replicas`` gateways; stop them all at the end."""
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    sim_cmd = [
        sys.executable,
        "-m",
        "gateway.simulator",
        "--port",
        str(sim_port),
        "--accounts",
        str(simulator_accounts(run_dir / "sim-accounts.toml")),
        "--latency",
        str(shape.latency),
        "--video-duration",
        str(shape.video_seconds),
        "--captcha-delay",
        "0",
        "--captcha-key",
        CAPTCHA_KEY,
        "--image-scale",
        "0.1",
    ]
    sim = Server("simulator", sim_cmd, sim_url, run_dir / "simulator.log", "/_sim/stats")
    replicas = []
    for index in range(shape.replicas):
        port = free_port()
        config = gateway_config(run_dir, port, sim_url, redis_url, prefix, shape)
        command = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
        replicas.append(
            Server(
                f"gateway-{index}",
                command,
                f"http://127.0.0.1:{port}",
                run_dir / f"gateway-{index}.log",
                "/readyz",
            )
        )
    await sim.start()
    try:
        # One after another: the first creates the shared state (licences, accounts), the others
        # find it; starting them at once is the restart case, tested on its own.
        for replica in replicas:
            await replica.start()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            yield Cluster(sim, replicas, http, run_dir, shape)
    finally:
        await asyncio.gather(*(r.stop() for r in replicas), return_exceptions=True)
        await sim.stop()
