"""The console's session table: ids, CSRF tokens, expiry, sign-out and its bounded size."""

from __future__ import annotations

from gateway.console.sessions import SessionTable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_found_by_its_id_and_carries_its_own_csrf_token() -> None:
    clock = Clock()
    table = SessionTable(ttl=60, capacity=10, clock=clock)
    first_id, first = table.open()
    second_id, second = table.open()
    assert table.find(first_id) == first and table.find(second_id) == second
    assert len({first_id, second_id, first.csrf_token, second.csrf_token}) == 4  # all random, none shared
    assert len(first_id) >= 43 and len(first.csrf_token) >= 43  # 256 bits, base64url
    assert first.expires_at == clock.now + 60
    assert first.accepts(first.csrf_token)
    assert not first.accepts(second.csrf_token) and not first.accepts("")
    assert table.find("not-a-session") is None and table.find("") is None and table.find("x" * 10_000) is None


def test_a_session_expires_after_its_ttl_whatever_the_use() -> None:
    clock = Clock()
    table = SessionTable(ttl=60, capacity=10, clock=clock)
    session_id, _ = table.open()
    clock.now += 59.9
    assert table.find(session_id) is not None  # use does not extend it
    clock.now += 0.1
    assert table.find(session_id) is None
    assert len(table) == 0  # and it is gone, not only hidden


def test_signing_out_ends_the_session_at_once() -> None:
    table = SessionTable(ttl=60, capacity=10, clock=Clock())
    session_id, _ = table.open()
    other_id, _ = table.open()
    assert table.close(session_id) is True
    assert table.find(session_id) is None
    assert table.close(session_id) is False  # a second sign-out is harmless
    assert table.find(other_id) is not None  # another browser stays signed in


def test_the_table_is_bounded_the_oldest_session_making_room() -> None:
    clock = Clock()
    table = SessionTable(ttl=60, capacity=3, clock=clock)
    ids = []
    for _ in range(5):
        ids.append(table.open()[0])
        clock.now += 1
    assert len(table) == 3
    assert [table.find(i) is not None for i in ids] == [False, False, True, True, True]


def test_expired_sessions_make_room_before_live_ones_are_evicted() -> None:
    clock = Clock()
    table = SessionTable(ttl=10, capacity=2, clock=clock)
    old_id, _ = table.open()
    clock.now += 5
    live_id, _ = table.open()
    clock.now += 6  # the first has expired, the second has not
    new_id, _ = table.open()
    assert table.find(live_id) is not None and table.find(new_id) is not None
    assert table.find(old_id) is None
