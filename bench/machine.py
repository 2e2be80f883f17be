"""What a report says about where and how it was measured: machine, CPU, versions, commands."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from bench.procs import ROOT, Stack


def cpu_model() -> str:
    """The CPU's model name, and whether a hypervisor shows."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?"
    )
    virtual = " (virtual machine)" if " hypervisor" in text else ""
    return f"{model}{virtual}"


def memory_gb() -> float:
    """Total memory, GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def version(package: str) -> str:
    """An installed package's version, or ``absent``."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def run(*args: str) -> str:
    """A command's first output line (read-only commands only), or ``?``."""
    if shutil.which(args[0]) is None:
        return "absent"
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def commit() -> str:
    """The checked-out commit, and whether ``gateway/`` differs from it (read-only git calls)."""
    head = run("git", "--no-optional-locks", "rev-parse", "--short", "HEAD")
    dirty = run("git", "--no-optional-locks", "status", "--porcelain", "--", "gateway", "config")
    return f"{head}{' + uncommitted changes in gateway/' if dirty not in ('?', '') else ''}"


def header(stack: Stack, commands: list[str], *, quick: bool, fds: tuple[int, int]) -> str:
    """The lines above the table."""
    wrk = run("wrk", "--version").split(" Copyright")[0]
    return "\n".join(
        [
            f"# Gateway benchmark ({'quick mode: smoke figures, not measurements' if quick else 'full'})",
            "",
            f"- when: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; gateway commit {commit()}",
            f"- machine: {platform.system()} {platform.release()} {platform.machine()}, "
            f"{os.cpu_count()} cores, {memory_gb():.0f} GiB; CPU {cpu_model()}",
            f"- pinning: {stack.pinning.describe()}; `ulimit -n` {fds[0]} (hard {fds[1]})",
            f"- versions: Python {platform.python_version()}, aiohttp {version('aiohttp')}, "
            f"uvloop {version('uvloop')} (the loop of the gateway, `event_loop = auto`, and of the others), "
            f"orjson {version('orjson')}, {wrk if not quick else 'wrk not used'}",
            f"- gateway: `{' '.join(stack.gateway.command)}` ({stack.shape.describe()})",
            f"- fake upstream: `{' '.join(stack.fake.command)}`",
            f"- reference: `{' '.join(stack.reference.command)}`",
            *(f"- load: `{c}`" for c in commands),
            f"- harness: `{' '.join([Path(sys.executable).name, '-m', 'bench', *sys.argv[1:]])}` "
            "(open-loop and SSE clients: aiohttp in this process, on the load core)",
        ]
    )
