"""Wrong admin keys, slowed down per client address (console sign-ins and bearer keys alike).

After ``free_attempts`` wrong keys in a row, each further wrong key locks the address out for 1, 2,
4 … seconds, up to ``max_lockout``; while locked out, keys from it are not even compared (a guess
made then is lost, so guessing is no faster by hammering). A right key clears the address. An
address quiet for ``QUIET`` seconds starts afresh. A lockout rather than a server-side sleep: a
sleeping request would hold a connection for the attacker, a 429 with ``Retry-After`` holds none.

Memory is bounded: at most ``capacity`` addresses are remembered, the least recently failing
forgotten first. IPv6 addresses count by their /64 (one host usually holds a whole /64, so per
address they would be free guesses). An admin key is 256 random bits, so this is about noise in
the logs and a weak key someone configured by hand, not about making a strong key safer.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 10_000  # addresses remembered at once (each entry is about 200 bytes)
QUIET = 3600.0  # seconds without a wrong key after which an address starts afresh
IPV6_PREFIX = 64
MAX_DOUBLINGS = 40  # 2**40 s is past any max_lockout; a larger power would overflow a float


@dataclass(slots=True)
class _Record:
    failures: int
    locked_until: float
    last_at: float


def address_bucket(address: str) -> str:
    """The unit counted: an IPv4 address as is, an IPv6 address by its /64 (anything else as is)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1 (a dual-stack socket's view)
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


class KeyThrottle:
    """Wrong keys per address; ``clock`` is monotonic seconds (injected by tests)."""

    def __init__(
        self,
        *,
        free_attempts: int,
        max_lockout: float,
        capacity: int = MAX_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free_attempts
        self._max_lockout = max_lockout
        self._capacity = capacity
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()  # least recently failing first

    def __len__(self) -> int:
        return len(self._records)

    def locked_for(self, address: str) -> float:
        """Seconds until this address may present a key again (0: now)."""
        record = self._records.get(address_bucket(address))
        return max(0.0, record.locked_until - self._clock()) if record is not None else 0.0

    def failed(self, address: str) -> float:
        """Count a wrong key; the lockout it starts, in seconds (0 while attempts are still free)."""
        now, bucket = self._clock(), address_bucket(address)
        self._forget_quiet(now)
        record = self._records.pop(bucket, None) or _Record(0, 0.0, now)
        record.failures += 1
        record.last_at = now
        over = record.failures - self._free
        lockout = min(self._max_lockout, 2.0 ** min(over - 1, MAX_DOUBLINGS)) if over > 0 else 0.0
        record.locked_until = now + lockout
        self._records[bucket] = record  # to the end: the most recently failing
        while len(self._records) > self._capacity:
            self._records.popitem(last=False)
        return lockout

    def passed(self, address: str) -> None:
        """A right key: the address starts afresh."""
        self._records.pop(address_bucket(address), None)

    def _forget_quiet(self, now: float) -> None:
        while self._records:
            bucket, oldest = next(iter(self._records.items()))
            if now - oldest.last_at < QUIET or oldest.locked_until > now:
                return
            del self._records[bucket]
