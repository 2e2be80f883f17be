"""A real ``redis-server`` for the tests: its own process on a free loopback port, in a temporary
directory, without persistence unless asked (a test that restarts it keeps its data with an
append-only file). Debian's package is installed when missing and this is root (as ``make test``
and ``.ci/run`` do); otherwise the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from gateway.store.redis_store import RedisStore

READY = "Ready to accept connections"


def redis_binary() -> str | None:
    """``redis-server``'s path, installing Debian's package first when missing and allowed."""
    found = shutil.which("redis-server")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "redis-server"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        subprocess.run(install, env=env, capture_output=True, check=False)
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process; ``start`` again after ``stop`` reuses its port (and data, if kept)."""

    def __init__(self, binary: str, directory: Path, *, keep_data: bool = False) -> None:
        self.binary, self.directory, self.keep_data = binary, directory, keep_data
        self.port = free_port()
        self._process: subprocess.Popen[str] | None = None
        self._drainer: threading.Thread | None = None
        self.log: collections.deque[str] = collections.deque(maxlen=200)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start and return once it accepts connections (read from its log, not waited for)."""
        options = {"port": str(self.port), "bind": "127.0.0.1", "save": "", "dir": str(self.directory)}
        options["appendonly"] = "yes" if self.keep_data else "no"  # no persistence unless asked
        options["appendfsync"] = "always"
        self.directory.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [self.binary, *(part for name, value in options.items() for part in (f"--{name}", value))],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            self.log.append(line)
            if READY in line:
                break
        else:
            process.wait()
            process.stdout.close()
            raise RuntimeError(f"redis-server did not start: {''.join(self.log)}")
        self._process = process
        # Keep reading its log, so a full pipe never stalls it (until it exits: see stop).
        self._drainer = threading.Thread(target=self._drain, args=(process,), daemon=True)
        self._drainer.start()

    def stop(self) -> None:
        """Stop it (SIGTERM, as an operator's restart would) and wait for the process to end."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._drainer is not None:
            self._drainer.join()  # it reads to the end of the log and closes the pipe

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self.log.append(line)


def start_server(tmp: Path, *, keep_data: bool = False) -> RedisServer:
    """A started server, or the test skipped when redis-server is missing and cannot be installed."""
    binary = redis_binary()
    if binary is None:
        pytest.skip("redis-server is not installed and could not be (apt-get install redis-server)")
    server = RedisServer(binary, tmp, keep_data=keep_data)
    server.start()
    return server


def unique_prefix() -> str:
    """A key prefix of its own: tests share the session's server without seeing each other."""
    return f"test-{uuid.uuid4().hex[:12]}:"


@asynccontextmanager
async def open_redis_store(request: pytest.FixtureRequest) -> AsyncIterator[RedisStore]:
    """A Redis store on the session's server under a fresh prefix, closed afterwards."""
    server: RedisServer = request.getfixturevalue("redis_server")
    store = RedisStore(server.url, prefix=unique_prefix())
    await store.open()
    try:
        yield store
    finally:
        await store.close()
