"""Pending (scenario 7): a slow reader on a host whose kernel keeps little per socket (here the
socket's send buffer is capped at 64 KB, as a busy server or a small ``net.ipv4.tcp_wmem`` would).
The gateway then holds what the kernel does not take: a 1.5 MB b64 response written in one piece
stays in its transport's buffer. The bar is 1 MB per connection; streaming the body in chunks with
backpressure (or capping big bodies in flight) would meet it."""

from __future__ import annotations

from typing import Any

from tests.reliability.support import THREE, Served
from tests.reliability.test_slow_client import MB, read_slowly, sim_config  # noqa: F401 - the fixture


async def test_a_slow_reader_with_small_kernel_buffers(served: Any, auth: dict[str, str]) -> None:
    gateway: Served = await served(accounts=THREE)
    peak = await read_slowly(gateway, auth, sndbuf=64 * 1024)
    figures = f"gateway buffer {peak.transport} B, kernel send queue {peak.kernel} B"
    assert peak.transport <= MB, figures
