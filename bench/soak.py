"""``make soak``: a bounded soak of the gateway against the Flow simulator, on loopback only.

The simulator runs as a subprocess (``python -m gateway.simulator``) with a small rate of 429s and
5xx injected through its control API (``/_sim/faults``). The gateway runs in this process, served
as ``python -m gateway serve`` serves it, so its asyncio tasks can be counted. Workers drive a
steady mix: image generations, video creations (each then polled until it ends), chat streams
(images and videos), model lists. Every minute, and at the end, a Markdown row: requests by
outcome, videos, RSS, asyncio tasks and open fds of this process (the gateway plus the light load
driver; the driver's own tasks are not counted). Each created video must end exactly once
(completed or failed), and every stream with ``[DONE]`` or an error event.

``SOAK_MINUTES`` (default 30, fractions allowed) bounds the run. Exit status 1 when a video was
lost or ended twice, or a stream ended silently incomplete.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from gateway.app import create_app
from gateway.config import load_settings
from gateway.licensing import hash_key, new_licence_key
from gateway.obs.access_log import AccessLogger
from gateway.obs.logging import configure_logging

ROOT = Path(__file__).resolve().parents[1]
CAPTCHA_KEY = "soak-captcha-key"
ACCOUNTS = 6
WORKERS = 8
PAUSE = 0.1  # seconds a worker rests between two requests
VIDEO_SECONDS = 5.0  # the simulator's submit-to-done time
DRAIN_SECONDS = 120.0  # after the load stops, how long unfinished videos are waited for
ROW_SECONDS = 60.0
MIX = (("image", 30), ("video", 8), ("chat", 12), ("models", 50))
FAULTS = (
    {"route": "images.generate", "kind": "rate_limited", "rate": 0.02, "retry_after": 3},
    {"route": "images.generate", "kind": "internal", "rate": 0.02},
    {"route": "video.submit", "kind": "rate_limited", "rate": 0.03, "retry_after": 3},
    {"route": "video.submit", "kind": "unavailable", "rate": 0.02},
    {"route": "video.status", "kind": "internal", "rate": 0.03},
)
TERMINAL = ("completed", "failed")
COLUMNS = ("ok", "429", "4xx", "5xx", "failed")


@dataclass
class Ledger:
    """What the driver saw: outcomes (in all, and since the last row) and every video's end."""

    outcomes: Counter[str] = field(default_factory=Counter)
    recent: Counter[str] = field(default_factory=Counter)
    created: set[str] = field(default_factory=set)
    ended: dict[str, str] = field(default_factory=dict)
    driver: set[asyncio.Task[Any]] = field(default_factory=set)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] += 1
        self.recent[outcome] += 1

    def spawn(self, coro: Any) -> None:
        """A driver task (not counted among the gateway's tasks)."""
        task = asyncio.ensure_future(coro)
        self.driver.add(task)
        task.add_done_callback(self.driver.discard)


def column(outcome: str) -> str:
    """The row column of an outcome such as ``image 200``, ``chat done`` or ``video poll ClientOSError``."""
    last = outcome.rsplit(" ", 1)[-1]
    if not last.isdigit():
        return {"done": "ok", "error-event": "5xx"}.get(last, "failed")  # a stream's end, or no answer
    status = int(last)
    if status < 300:
        return "ok"
    return "429" if status == 429 else "4xx" if status < 500 else "5xx"


# --- the load ----------------------------------------------------------------------------------


async def request(
    http: aiohttp.ClientSession, ledger: Ledger, kind: str, method: str, path: str, **kw: Any
) -> Any:
    """One request; its outcome counted; the JSON body of a 200 (else None)."""
    try:
        async with http.request(method, path, **kw) as resp:
            body = await resp.read()
            ledger.count(f"{kind} {resp.status}")
            return orjson.loads(body) if resp.status == 200 else None
    except (aiohttp.ClientError, TimeoutError) as exc:
        ledger.count(f"{kind} {type(exc).__name__}")
        return None


async def create_video(http: aiohttp.ClientSession, ledger: Ledger) -> None:
    body = {"model": "veo_3_1-fast", "prompt": f"soak {random.random():.6f}"}
    doc = await request(http, ledger, "video create", "POST", "/v1/videos", json=body)
    if doc is not None:
        track(http, ledger, [doc["id"]])


def track(http: aiohttp.ClientSession, ledger: Ledger, ids: list[str]) -> None:
    for video_id in ids:
        ledger.created.add(video_id)
        ledger.spawn(watch(http, ledger, video_id))


async def watch(http: aiohttp.ClientSession, ledger: Ledger, video_id: str) -> None:
    """Poll a video until it ends, at the pace the gateway asks for."""
    while True:
        doc = await request(http, ledger, "video poll", "GET", f"/v1/videos/{video_id}")
        if doc is not None and doc["status"] in TERMINAL:
            ledger.ended[video_id] = doc["status"]
            return
        await asyncio.sleep(1.0)


async def chat(http: aiohttp.ClientSession, ledger: Ledger) -> None:
    """A chat stream, read to its end: ``[DONE]``, an error event, or (a defect) neither."""
    model = "veo_3_1-fast" if random.random() < 0.2 else "nano_banana"
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "a soak test"}]}
    try:
        async with http.post("/v1/chat/completions", json=body) as resp:
            if resp.status != 200:
                ledger.count(f"chat {resp.status}")
                return
            if model.startswith("veo"):
                track(http, ledger, resp.headers["x-flow-task-ids"].split(","))
            last = b""
            async for line in resp.content:
                last = line.strip() or last
    except (aiohttp.ClientError, TimeoutError) as exc:
        ledger.count(f"chat {type(exc).__name__}")
        return
    ends = {b"data: [DONE]": "done", b'data: {"error"': "error-event"}
    ledger.count("chat " + next((v for k, v in ends.items() if last.startswith(k)), "incomplete"))


async def worker(http: aiohttp.ClientSession, ledger: Ledger, rng: random.Random) -> None:
    kinds, weights = zip(*MIX, strict=True)
    while True:
        kind = rng.choices(kinds, weights)[0]
        if kind == "image":
            fmt = rng.choice(("b64_json", "url"))
            body = {"model": "nano_banana", "prompt": "a soak test", "response_format": fmt}
            await request(http, ledger, "image", "POST", "/v1/images/generations", json=body)
        elif kind == "video":
            await create_video(http, ledger)
        elif kind == "chat":
            await chat(http, ledger)
        else:
            await request(http, ledger, "models", "GET", "/v1/models")
        await asyncio.sleep(PAUSE)


# --- the process's figures and the report --------------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def gateway_tasks(ledger: Ledger) -> int:
    current = asyncio.current_task()
    return sum(1 for t in asyncio.all_tasks() if t not in ledger.driver and t is not current)


HEADER = (
    "| minute | requests | ok | 429 | 4xx | 5xx | failed | videos created | ended | in flight "
    "| RSS MB | tasks | fds |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def row(label: str, ledger: Ledger, counts: Counter[str]) -> str:
    by_column = Counter({c: 0 for c in COLUMNS})
    for outcome, n in counts.items():
        by_column[column(outcome)] += n
    in_flight = len(ledger.created) - len(ledger.ended)
    cells = [label, sum(counts.values()), *(by_column[c] for c in COLUMNS)]
    cells += [len(ledger.created), len(ledger.ended), in_flight, f"{rss_mb():.1f}"]
    cells += [gateway_tasks(ledger), open_fds()]
    return "| " + " | ".join(str(c) for c in cells) + " |"


async def report_every_minute(ledger: Ledger, minutes: float) -> None:
    started = time.monotonic()
    for minute in range(1, int(minutes) + 1):
        await asyncio.sleep(max(0.0, started + minute * ROW_SECONDS - time.monotonic()))
        print(row(str(minute), ledger, ledger.recent), flush=True)
        ledger.recent.clear()


async def audit(http: aiohttp.ClientSession, ledger: Ledger) -> tuple[list[str], list[str]]:
    """Lost videos (never ended, or missing from the list) and duplicated ones (listed twice, or
    whose end changed after it was seen)."""
    listed: Counter[str] = Counter()
    after = ""
    while True:
        query = {"limit": "100", "after": after} if after else {"limit": "100"}
        page = await request(http, ledger, "video list", "GET", "/v1/videos", params=query)
        if page is None:
            break
        listed.update(v["id"] for v in page["data"])
        if not page["has_more"]:
            break
        after = page["last_id"]
    lost = sorted(v for v in ledger.created if v not in ledger.ended or not listed[v])
    twice = [v for v, n in listed.items() if n > 1]
    for video_id, status in ledger.ended.items():
        doc = await request(http, ledger, "video poll", "GET", f"/v1/videos/{video_id}")
        if doc is not None and doc["status"] != status:
            twice.append(video_id)
    return lost, sorted(twice)


def summary(ledger: Ledger, lost: list[str], twice: list[str], upstream: dict[str, int]) -> str:
    lines = ["", "| outcome | count |", "|---|---:|"]
    lines += [f"| {o} | {n} |" for o, n in sorted(ledger.outcomes.items())]
    done = sum(1 for s in ledger.ended.values() if s == "completed")
    videos = (len(ledger.created), done, len(ledger.ended) - done, len(lost), len(twice))
    lines += [
        "",
        "| videos created | completed | failed | lost | ended twice |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(map(str, videos)) + " |"]
    lines += ["", "| upstream route | calls |", "|---|---:|"]
    lines += [f"| {route} | {n} |" for route, n in sorted(upstream.items())]
    if lost or twice:
        lines += ["", f"lost: {lost[:20]}", f"ended twice: {twice[:20]}"]
    return "\n".join(lines)


# --- wiring: the simulator subprocess and the gateway --------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_files(tmp: Path, sim_url: str, key: str) -> tuple[Path, Path]:
    """The simulator's accounts file and the gateway's config file."""
    tokens = [f"soak-{i}" for i in range(ACCOUNTS)]
    sim_accounts = "".join(
        f'[[accounts]]\nsession_token = "{t}"\nemail = "{t}@soak.invalid"\ntier = "PAYGATE_TIER_TWO"\n'
        "credits = 100000000\n\n"
        for t in tokens
    )
    (tmp / "sim.toml").write_text(sim_accounts)
    accounts = "".join(
        f'[[accounts]]\nlabel = "{t}"\nsession_token = "{t}"\nvideo_concurrency = 8\n\n' for t in tokens
    )
    (tmp / "gateway.toml").write_text(
        f'catalog_path = "{ROOT / "config" / "models.toml"}"\n'
        '[logging]\nlevel = "error"\n'
        f'[store]\nbackend = "sqlite"\npath = "{tmp / "gateway.sqlite3"}"\n'
        f'[media]\nroot = "{tmp / "media"}"\nallow_private_urls = true\n'
        f'[flow]\nlabs_base_url = "{sim_url}"\napi_base_url = "{sim_url}"\n'
        f'[captcha]\nbase_url = "{sim_url}/captcha"\nclient_key = "{CAPTCHA_KEY}"\npoll_interval = 0.05\n'
        "[tasks]\npoll_interval = 1.0\npoll_after_ms = 1000\nlink_delay = 0.2\nkeepalive = 5.0\n"
        "[pool]\nwait_timeout = 5.0\n"
        f'[[licences]]\nid = "soak"\nkey_sha256 = "{hash_key(key)}"\n\n{accounts}'
    )
    return tmp / "sim.toml", tmp / "gateway.toml"


async def start_simulator(accounts: Path, port: int) -> asyncio.subprocess.Process:
    args = f"--port {port} --video-duration {VIDEO_SECONDS} --image-scale 0.25 --seed 7 --captcha-key"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.simulator",
        *args.split(),
        CAPTCHA_KEY,
        "--accounts",
        str(accounts),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as sim:
        for _ in range(300):
            try:
                async with sim.get("/_sim/stats") as resp:
                    if resp.status == 200:
                        for fault in FAULTS:
                            async with sim.post("/_sim/faults", json=fault) as added:
                                assert added.status == 200, await added.text()
                        return proc
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    proc.terminate()
    raise RuntimeError("the simulator did not start")


async def upstream_calls(port: int) -> dict[str, int]:
    async with aiohttp.ClientSession() as sim, sim.get(f"http://127.0.0.1:{port}/_sim/stats") as resp:
        calls: Counter[str] = Counter()
        for entry in (await resp.json())["calls"]:
            calls[entry["route"]] += entry["count"]
        return dict(calls)


async def start_gateway(config: Path) -> tuple[web.AppRunner, str]:
    settings = load_settings(config, environ={})
    configure_logging(settings.logging)
    for handler in logging.getLogger().handlers:  # errors to stderr; the tables alone on stdout
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    runner = web.AppRunner(create_app(settings), access_log_class=AccessLogger)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def drive(base: str, key: str, minutes: float) -> tuple[Ledger, list[str], list[str]]:
    ledger = Ledger()
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(base, headers=headers, timeout=timeout) as http:
        workers = [asyncio.ensure_future(worker(http, ledger, random.Random(i))) for i in range(WORKERS)]
        ledger.driver.update(workers)
        started = time.monotonic()
        await report_every_minute(ledger, minutes)  # a row per whole minute
        await asyncio.sleep(max(0.0, started + minutes * 60 - time.monotonic()))
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if ledger.driver:  # the videos still running finish; their watchers record it
            await asyncio.wait(list(ledger.driver), timeout=DRAIN_SECONDS)
        lost, twice = await audit(http, ledger)
        for task in list(ledger.driver):
            task.cancel()
    return ledger, lost, twice


async def soak(minutes: float) -> int:
    key = new_licence_key()
    sim_port = free_port()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        sim_accounts, config = write_files(Path(tmp), f"http://127.0.0.1:{sim_port}", key)
        sim = await start_simulator(sim_accounts, sim_port)
        try:
            runner, base = await start_gateway(config)
            print(
                f"# Soak: {minutes:g} min, {WORKERS} workers, mix {dict(MIX)}, faults {len(FAULTS)} rules\n"
            )
            print(HEADER, flush=True)
            try:
                ledger, lost, twice = await drive(base, key, minutes)
                print(row("end", ledger, ledger.outcomes))
                print(summary(ledger, lost, twice, await upstream_calls(sim_port)), flush=True)
            finally:
                await runner.cleanup()
        finally:
            sim.terminate()
            await sim.wait()
    incomplete = ledger.outcomes["chat incomplete"]
    return 1 if lost or twice or incomplete else 0


def main() -> int:
    return asyncio.run(soak(float(os.environ.get("SOAK_MINUTES", "30"))))


if __name__ == "__main__":
    sys.exit(main())
