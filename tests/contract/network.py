"""Keeping a fuzz run on this machine: the fuzzer writes URLs of its own (image sources, webhooks),
and the gateway would resolve and fetch them. Name lookups other than loopback names fail at once,
and connections to anything but a loopback address are refused, for the length of the test."""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

import pytest

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: object) -> bool:
    """True for a loopback address or name."""
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return ipaddress.ip_address(text.strip("[]")).is_loopback
    except ValueError:
        return text.lower() in LOOPBACK_NAMES


def confine_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every lookup and connection that would leave the machine."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, "this test resolves loopback names only")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            raise OSError(errno.ENETUNREACH, "this test connects to loopback addresses only")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
