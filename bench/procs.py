"""The processes of a benchmark run: the fake upstream, the bare reference and the gateway.

Each runs as a real process (``python -m ...``), pinned with ``taskset`` as benchmarks.md asks (the
gateway and the reference on core 0, the fake on core 1, where the load generators also run); on a
machine with fewer than 2 cores, or in quick mode, nothing is pinned. Also here: the gateway's
config file, free ports, ``RLIMIT_NOFILE``, and a process's RSS and CPU time from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from gateway.licensing import hash_key

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "config" / "models.toml"
LICENCE = "sk-bench-0123456789abcdef0123456789abcdef"
WRONG_KEY = "sk-bench-wrong-0123456789abcdef01234567"
CAPTCHA_KEY = "bench-captcha-key"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Pinning:
    """Where each process runs: ``server`` (gateway, reference) and ``load`` (fake, generators)."""

    server: int | None
    load: int | None

    @staticmethod
    def choose(*, quick: bool) -> Pinning:
        """Cores 0 and 1 when there are 2 and ``taskset`` is there; otherwise none (said in the report)."""
        cores = sorted(os.sched_getaffinity(0))
        if quick or len(cores) < 2 or not Path("/usr/bin/taskset").exists():
            return Pinning(None, None)
        return Pinning(cores[0], cores[1])

    def prefix(self, core: int | None) -> list[str]:
        """``taskset -c N`` for a command, or nothing."""
        return [] if core is None else ["taskset", "-c", str(core)]

    def describe(self) -> str:
        """One line for the report."""
        if self.server is None:
            return "not pinned (quick mode, or fewer than 2 cores)"
        return f"gateway and reference on core {self.server}; fake and load generators on core {self.load}"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard one (children inherit it); the new limits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    fields = Path(f"/proc/{pid}/statm").read_text().split()
    return int(fields[1]) * PAGE / 2**20


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def cpu_share(pid: int, seconds: float) -> float:
    """The share of one core a process used over the next ``seconds`` (1.0 = a whole core)."""
    cpu, wall = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - cpu) / (time.monotonic() - wall)


@dataclass(frozen=True)
class GatewayShape:
    """What the gateway's config file says beyond the addresses: accounts, slots, poll interval."""

    accounts: int = 16
    image_slots: int = 64  # per account: c=512 never waits for a slot
    video_slots: int = 1000  # per account: 16,000 videos can run at once
    poll_interval: float = 10.0
    log_level: str = "info"

    def describe(self) -> str:
        """The config in a few words, for the report."""
        return (
            f"SQLite store, JSON logs at {self.log_level} to a file, {self.accounts} accounts with "
            f"{self.image_slots} image and {self.video_slots} video slots each, "
            f"`[tasks] poll_interval = {self.poll_interval:g}`"
        )


def gateway_config(run_dir: Path, port: int, fake: str, shape: GatewayShape) -> Path:
    """The gateway's TOML: the fake as Flow and as captcha solver, one licence, ``shape``'s accounts.

    The store is SQLite (the default and what a deployment runs); logs go to a file at ``info``.
    """
    accounts = "".join(
        f'[[accounts]]\nlabel = "bench-{i}"\nsession_token = "bench-session-{i}"\n'
        f"image_concurrency = {shape.image_slots}\nvideo_concurrency = {shape.video_slots}\n\n"
        for i in range(shape.accounts)
    )
    path = run_dir / "gateway.toml"
    path.write_text(
        f'catalog_path = "{CATALOG}"\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[logging]\nlevel = "{shape.log_level}"\nformat = "json"\n'
        f'[store]\nbackend = "sqlite"\npath = "{run_dir / "gateway.sqlite3"}"\n'
        f'[media]\nroot = "{run_dir / "media"}"\nallow_private_urls = true\n'
        f'[flow]\nlabs_base_url = "{fake}"\napi_base_url = "{fake}"\n'
        f'[captcha]\nbase_url = "{fake}/captcha"\nclient_key = "{CAPTCHA_KEY}"\npoll_interval = 0.05\n'
        f"[tasks]\npoll_interval = {shape.poll_interval}\n"
        f'[[licences]]\nid = "bench"\nkey_sha256 = "{hash_key(LICENCE)}"\n\n{accounts}'
    )
    return path


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the harness dies, even killed (Linux's
    ``PR_SET_PDEATHSIG``), so that a killed run leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the harness's clean-up has to do
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wipe_state(run_dir: Path) -> None:
    """Remove the gateway's store and media from the scratch directory."""
    for suffix in ("", "-wal", "-shm"):
        (run_dir / f"gateway.sqlite3{suffix}").unlink(missing_ok=True)
    shutil.rmtree(run_dir / "media", ignore_errors=True)


@dataclass
class Server:
    """A server process: its command, its base URL and the process once started."""

    name: str
    command: list[str]
    url: str
    log: Path
    ready_path: str
    proc: asyncio.subprocess.Process | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """The process id (the server must be running)."""
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    async def start(self, wait: float = 60.0) -> None:
        """Start it and wait until ``ready_path`` answers 200."""
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdout=log,
                stderr=log,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + wait
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    break
                try:
                    async with http.get(self.url + self.ready_path) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        await self.stop()
        raise RuntimeError(f"{self.name} did not start; see {self.log}")

    async def stop(self) -> None:
        """Terminate it (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 10.0)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


@dataclass
class Stack:
    """The three servers of a run and where they live."""

    fake: Server
    reference: Server
    gateway: Server
    pinning: Pinning
    shape: GatewayShape

    @classmethod
    def build(cls, run_dir: Path, pinning: Pinning, shape: GatewayShape) -> Stack:
        """Commands and config for the fake (load core), the reference and the gateway (server core)."""
        fake_port, ref_port, gw_port = free_port(), free_port(), free_port()
        fake_url = f"http://127.0.0.1:{fake_port}"
        config = gateway_config(run_dir, gw_port, fake_url, shape)
        fake = [
            *pinning.prefix(pinning.load),
            sys.executable,
            "-m",
            "bench.fake_flow",
            "--port",
            str(fake_port),
        ]
        ref = [
            *pinning.prefix(pinning.server),
            sys.executable,
            "-m",
            "bench.reference",
            "--port",
            str(ref_port),
        ]
        gw = [
            *pinning.prefix(pinning.server),
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(config),
        ]
        return cls(
            Server("fake upstream", fake, fake_url, run_dir / "fake.log", "/_bench/stats"),
            Server("reference", ref, f"http://127.0.0.1:{ref_port}", run_dir / "reference.log", "/ref/2"),
            Server("gateway", gw, f"http://127.0.0.1:{gw_port}", run_dir / "gateway.log", "/readyz"),
            pinning,
            shape,
        )

    async def start(self) -> None:
        """Start the fake and the reference, then the gateway (which calls the fake at start)."""
        await asyncio.gather(self.fake.start(), self.reference.start())
        await self.gateway.start()

    async def restart_gateway(self) -> None:
        """A fresh gateway process on an empty store (the phases do not see each other's tasks)."""
        await self.gateway.stop()
        await asyncio.to_thread(wipe_state, Path(self.gateway.command[-1]).parent)
        await self.gateway.start()

    async def stop(self) -> None:
        """Stop all three."""
        await asyncio.gather(self.gateway.stop(), self.reference.stop(), self.fake.stop())

    async def fake_calls(self) -> dict[str, int]:
        """The fake's call counts by route."""
        async with aiohttp.ClientSession() as http, http.get(self.fake.url + "/_bench/stats") as resp:
            return dict(await resp.json())

    async def configure_fake(self, **settings: object) -> None:
        """``POST /_bench/config`` (``big``, ``video_seconds``)."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.fake.url + "/_bench/config", json=settings),
        ):
            pass
