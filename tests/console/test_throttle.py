"""Wrong admin keys slowed down per address: free attempts, doubling lockouts, bounded memory."""

from __future__ import annotations

import pytest

from gateway.console.throttle import QUIET, KeyThrottle, address_bucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **kw: float) -> KeyThrottle:
    return KeyThrottle(free_attempts=int(kw.get("free", 3)), max_lockout=kw.get("cap", 8.0), clock=clock)


def test_lockouts_start_after_the_free_attempts_and_double_up_to_the_cap() -> None:
    clock = Clock()
    guard = throttle(clock)
    lockouts = []
    for _ in range(9):
        lockouts.append(guard.failed("10.0.0.1"))
        clock.now += lockouts[-1]  # the next guess comes as soon as it may
    assert lockouts == [0, 0, 0, 1, 2, 4, 8, 8, 8]


def test_a_locked_address_waits_and_others_do_not() -> None:
    clock = Clock()
    guard = throttle(clock, free=1)
    guard.failed("10.0.0.1")
    guard.failed("10.0.0.1")
    assert guard.locked_for("10.0.0.1") == 1.0
    assert guard.locked_for("10.0.0.2") == 0.0
    clock.now += 0.4
    assert guard.locked_for("10.0.0.1") == pytest.approx(0.6)
    clock.now += 0.6
    assert guard.locked_for("10.0.0.1") == 0.0


def test_a_right_key_clears_the_address() -> None:
    clock = Clock()
    guard = throttle(clock, free=2)
    for _ in range(4):
        guard.failed("10.0.0.1")
    guard.passed("10.0.0.1")
    assert guard.locked_for("10.0.0.1") == 0.0
    assert guard.failed("10.0.0.1") == 0.0  # free attempts again
    assert len(guard) == 1


def test_a_quiet_address_starts_afresh() -> None:
    clock = Clock()
    guard = throttle(clock, free=1)
    guard.failed("10.0.0.1")
    guard.failed("10.0.0.1")
    clock.now += QUIET + 1
    guard.failed("10.0.0.9")  # any failure sweeps the quiet ones
    assert len(guard) == 1
    assert guard.failed("10.0.0.1") == 0.0


def test_memory_is_bounded_whatever_the_number_of_addresses() -> None:
    clock = Clock()
    guard = KeyThrottle(free_attempts=1, max_lockout=60, capacity=100, clock=clock)
    for i in range(10_000):
        guard.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(guard) == 100
    guard.failed("192.0.2.1")
    guard.failed("192.0.2.1")
    assert guard.locked_for("192.0.2.1") == 1.0  # the newest are the ones kept


def test_no_overflow_however_long_the_guessing_goes_on() -> None:
    clock = Clock()
    guard = throttle(clock, free=1, cap=900)
    lockout = 0.0
    for _ in range(3000):
        clock.now += lockout
        lockout = guard.failed("10.0.0.1")
    assert lockout == 900
    assert guard.locked_for("10.0.0.1") == 900


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("", ""),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_ipv6_counts_by_its_slash_64(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket


def test_one_ipv6_host_cannot_rotate_addresses_within_its_prefix() -> None:
    clock = Clock()
    guard = throttle(clock, free=2)
    for i in range(3):
        guard.failed(f"2001:db8:1:2::{i + 1:x}")
    assert guard.locked_for("2001:db8:1:2::ffff") == 1.0
