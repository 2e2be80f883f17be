"""The command line: ``demo`` as a user runs it, ``licence new``, and ``serve`` refusing a bad config."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import warnings
from pathlib import Path

import openai

from gateway.__main__ import main

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_demo_serves_the_documented_requests(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "demo",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            while b"Press Ctrl-C" not in (line := await proc.stdout.readline()):
                assert line, "demo exited early"
        key = (tmp_path / ".demo" / "licence").read_text().strip()
        assert key.startswith("sk-flow-")
        async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/flow/v1", api_key=key) as client:
            result = await client.images.generate(model="nano_banana_pro-2K-landscape", prompt="a fox", n=2)
            assert result.data is not None and len(result.data) == 2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks videos.* deprecated
                video = await client.videos.create_and_poll(model="veo_3_1-landscape-fast", prompt="a fox")
                assert video.status == "completed", video.error
                content = await client.videos.download_content(video.id)
        assert content.read()[4:8] == b"ftyp"
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            await proc.communicate()
    assert proc.returncode == 0


def test_licence_new_prints_key_and_entry(capsys: object) -> None:
    assert main(["licence", "new", "--id", "alice"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "sk-flow-" in out and 'id = "alice"' in out and "key_sha256" in out


def test_serve_refuses_a_bad_config(tmp_path: Path, capsys: object) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 'eighty'\n")
    assert main(["serve", "--config", str(config)]) == 2
    assert "server.port" in capsys.readouterr().err  # type: ignore[attr-defined]
