"""``make demo`` prints the console's address and the admin key, and that key signs in there."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_demo_prints_the_console_and_the_key_to_sign_in_with(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "demo", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            while "Press Ctrl-C" not in (line := (await proc.stdout.readline()).decode()):
                assert line, "demo exited early"
                lines.append(line)
        printed = "".join(lines)
        console = re.search(r"^Console:\s+(\S+)", printed, re.M)
        key = re.search(r"^Admin key:\s+(\S+)\s+\(also in (\S+)\)", printed, re.M)
        assert console is not None and key is not None, printed
        assert console.group(1) == f"http://127.0.0.1:{port}/console/"
        assert (tmp_path / key.group(2)).read_text().strip() == key.group(1)
        async with aiohttp.ClientSession() as http:
            async with http.get(console.group(1)) as page:
                assert page.status == 200 and page.content_type == "text/html"
            session = console.group(1) + "session"
            async with http.post(session, json={"key": key.group(1)}) as signed:
                assert signed.status == 201
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            await proc.communicate()
    assert proc.returncode == 0
