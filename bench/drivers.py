"""Closed-loop load: ``wrk`` (full mode) or a small aiohttp client (quick mode), behind one interface.

Both drive a list of requests in turn (a list of one for most scenarios; ids in rotation for
``GET /v1/videos/{id}``) over ``conns`` keep-alive connections for a duration, and return a
:class:`Sample`: requests per second, p50 and p99 latency, and the requests whose status was not
the expected one. ``chain`` runs the requests one after another on one connection and times each
whole chain (M1's direct upstream calls); wrk does it in Lua with ``clock_gettime`` through LuaJIT's
FFI, so both sides of M1 are timed the same way.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp
import yarl

WRK_TIMEOUT = "10s"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


@dataclass(frozen=True)
class Req:
    """One HTTP request, fully formed."""

    method: str
    url: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Sample:
    """What a load run measured (latencies in ms; for a chain, per whole chain)."""

    rps: float
    p50: float
    p99: float
    requests: int
    errors: int


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of unsorted values; 0.0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Driver(Protocol):
    """A closed-loop load generator."""

    name: str

    async def closed(self, reqs: Sequence[Req], conns: int, seconds: float, *, expect: int = 200) -> Sample:
        """``conns`` connections sending ``reqs`` in turn for ``seconds``."""
        ...

    async def chain(self, reqs: Sequence[Req], seconds: float) -> Sample:
        """One connection sending ``reqs`` in order, again and again; one sample per whole chain."""
        ...


# --- wrk --------------------------------------------------------------------------------------

LUA_ROTATE = """
local i = 0
request = function() i = i % #reqs + 1; return reqs[i] end
"""
LUA_CHAIN = """
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long s; long ns; } bench_ts; int clock_gettime(int, bench_ts *); ]]
local ts = ffi.new("bench_ts")
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.s) * 1e6 + tonumber(ts.ns) / 1e3 end
local i, started, threads = 0, 0, {}
samples = {}
setup = function(thread) table.insert(threads, thread) end
request = function() i = i % #reqs + 1; if i == 1 then started = now() end; return reqs[i] end
response = function(status) if i == #reqs then samples[#samples + 1] = now() - started end end
done = function(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do for _, v in ipairs(t:get("samples")) do all[#all + 1] = v end end
  table.sort(all)
  if #all == 0 then io.write("CHAIN 0 0 0\\n"); return end
  local function q(p) return all[math.min(#all, math.floor(#all * p) + 1)] end
  io.write(string.format("CHAIN %d %.1f %.1f\\n", #all, q(0.5), q(0.99)))
end
"""


def lua_string(data: bytes | str) -> str:
    """A Lua string literal of any bytes (decimal escapes for all but plain printable ASCII)."""
    raw = data.encode() if isinstance(data, str) else data
    safe = (chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in raw)
    return '"' + "".join(safe) + '"'


def lua_requests(reqs: Sequence[Req]) -> str:
    """``init`` building the requests with ``wrk.format`` (a Host header each: set before init runs)."""
    lines = ["reqs = {}", "init = function(args)"]
    for req in reqs:
        url = yarl.URL(req.url)
        headers = {"Host": f"{url.host}:{url.port}", **dict(req.headers)}
        table = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        body = lua_string(req.body) if req.body else "nil"
        path = url.raw_path_qs
        method = lua_string(req.method)
        lines.append(f"  reqs[#reqs + 1] = wrk.format({method}, {lua_string(path)}, {{{table}}}, {body})")
    lines.append("end")
    return "\n".join(lines) + "\n"


def wrk_ms(value: str) -> float:
    """``302.00us`` / ``1.69ms`` / ``2.01s`` in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise ValueError(f"wrk's output has no {pattern!r}: {text[-300:]}")
    return match.group(1)


def parse_wrk(text: str, *, expect: int) -> Sample:
    """A :class:`Sample` from wrk's ``--latency`` output (and the CHAIN line of a chain script)."""
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", text))
    total = int(_find(r"(\d+) requests in", text))
    # Anchored: the Latency line's "+/- Stdev" column can end in "99%" too (e.g. "95.99%").
    p50 = wrk_ms(_find(r"^[ \t]+50%[ \t]+(\S+)", text))
    p99 = wrk_ms(_find(r"^[ \t]+99%[ \t]+(\S+)", text))
    odd = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    non2xx = int(odd.group(1)) if odd else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(g) for g in sockets.groups()) if sockets else 0
    errors = (non2xx if expect < 300 else total - non2xx) + socket_errors
    chain = re.search(r"CHAIN (\d+) ([\d.]+) ([\d.]+)", text)
    if chain is not None:
        return Sample(
            rps, float(chain.group(2)) / 1e3, float(chain.group(3)) / 1e3, int(chain.group(1)), errors
        )
    return Sample(rps, p50, p99, total, errors)


class Wrk:
    """wrk (Debian's package), one thread, pinned with ``prefix`` (``taskset -c N``)."""

    name = "wrk"

    def __init__(self, prefix: list[str], scratch: Path) -> None:
        self.prefix = prefix
        self.scratch = scratch
        self.commands: list[str] = []  # one per distinct shape, for the report
        self._scripts = 0

    def _script(self, reqs: Sequence[Req], body: str) -> Path:
        self._scripts += 1
        path = self.scratch / f"wrk-{self._scripts}.lua"
        path.write_text(lua_requests(reqs) + body)
        return path

    async def _run(self, script: Path, url: str, conns: int, seconds: float) -> str:
        origin = str(yarl.URL(url).origin())
        args = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency"]
        args += ["--timeout", WRK_TIMEOUT, "-s", str(script), origin]
        shape = " ".join([*self.prefix, *args[:5], "--timeout", WRK_TIMEOUT, "-s", "<script.lua>", "URL"])
        if shape not in self.commands:
            self.commands.append(shape)
        proc = await asyncio.create_subprocess_exec(
            *self.prefix, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await proc.communicate()
        text = out.decode(errors="replace")
        if proc.returncode != 0 or "Requests/sec" not in text:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {text[-500:]}")
        return text

    async def closed(self, reqs: Sequence[Req], conns: int, seconds: float, *, expect: int = 200) -> Sample:
        """wrk ``-c conns``, requests in rotation."""
        text = await self._run(self._script(reqs, LUA_ROTATE), reqs[0].url, conns, seconds)
        return parse_wrk(text, expect=expect)

    async def chain(self, reqs: Sequence[Req], seconds: float) -> Sample:
        """wrk ``-c1``, each chain timed in Lua; rps counts chains."""
        text = await self._run(self._script(reqs, LUA_CHAIN), reqs[0].url, 1, seconds)
        sample = parse_wrk(text, expect=200)
        return Sample(
            sample.requests / max(1.0, round(seconds)), sample.p50, sample.p99, sample.requests, sample.errors
        )


# --- the Python client (quick mode) --------------------------------------------------------------


class PyClient:
    """The same in Python (aiohttp, in this process): slower than wrk, so its numbers are only sane,
    not the gateway's ceiling; quick mode uses it so that nothing outside the virtualenv is needed."""

    name = "python"

    def __init__(self) -> None:
        self.commands: list[str] = ["python -m bench --quick (aiohttp client in the harness process)"]

    async def closed(self, reqs: Sequence[Req], conns: int, seconds: float, *, expect: int = 200) -> Sample:
        """``conns`` tasks on a pool of ``conns`` connections."""
        latencies: list[float] = []
        errors = [0]
        turn = [0]
        deadline = time.perf_counter() + seconds

        async def worker(http: aiohttp.ClientSession) -> None:
            while time.perf_counter() < deadline:
                turn[0] += 1
                req = reqs[turn[0] % len(reqs)]
                started = time.perf_counter()
                status = await send(http, req)
                latencies.append((time.perf_counter() - started) * 1e3)
                errors[0] += status != expect

        started = time.perf_counter()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns)) as http:
            await asyncio.gather(*(worker(http) for _ in range(conns)))
        elapsed = time.perf_counter() - started
        return Sample(
            len(latencies) / elapsed,
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            len(latencies),
            errors[0],
        )

    async def chain(self, reqs: Sequence[Req], seconds: float) -> Sample:
        """One connection, the whole chain timed."""
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                for req in reqs:
                    errors += await send(http, req) >= 300
                latencies.append((time.perf_counter() - started) * 1e3)
        return Sample(
            len(latencies) / seconds,
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            len(latencies),
            errors,
        )


async def send(http: aiohttp.ClientSession, req: Req) -> int:
    """Send one request, read the whole answer; its status (0 when the connection failed)."""
    try:
        async with http.request(
            req.method, req.url, data=req.body or None, headers=dict(req.headers)
        ) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return 0
