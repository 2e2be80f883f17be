"""The event loop choice: uvloop when installed (``auto``), asyncio's on request, a clear error when
uvloop is demanded but absent."""

import asyncio
import sys

import pytest

from gateway.__main__ import new_event_loop
from gateway.config import ConfigError


def test_auto_takes_uvloop_when_installed_and_asyncio_on_request() -> None:
    uvloop = pytest.importorskip("uvloop")
    auto, plain = new_event_loop("auto"), new_event_loop("asyncio")
    try:
        assert isinstance(auto, uvloop.Loop)
        assert not isinstance(plain, uvloop.Loop) and isinstance(plain, asyncio.BaseEventLoop)
    finally:
        auto.close()
        plain.close()


def test_without_uvloop_auto_falls_back_and_a_demand_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what an import sees where it is not installed
    loop = new_event_loop("auto")
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()
    with pytest.raises(ConfigError, match="event_loop"):
        new_event_loop("uvloop")
