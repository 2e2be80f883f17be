"""What a slot ledger reads of an account: shared by the pool (which leases) and the Redis store
(which counts leases for every replica), neither of which may import the other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from gateway.domain import Capability


class Limited(Protocol):
    """An account's id and limits (the pool's ``Account`` matches)."""

    @property
    def id(self) -> str:
        """The account's id."""
        ...

    @property
    def limits(self) -> Mapping[Capability, int]:
        """Concurrent leases allowed per capability."""
        ...

    @property
    def rpm(self) -> int:
        """Lease starts allowed per minute (0: no bound)."""
        ...

    @property
    def daily(self) -> Mapping[Capability, int]:
        """Successes allowed per UTC day and capability (0 or absent: no cap)."""
        ...
