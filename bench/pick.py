"""Account picks at 10,000 accounts: the pool's index against a linear scan, in one run.

A pick here is what a lease costs the pool: choose an account, count the lease, and re-index it on
release. Accounts span 3 tiers and 4 group sets; a share of them is cooling down (that share must
not change the cost). Prints a Markdown table; the ratio column is the one to compare across runs.
"""

from __future__ import annotations

import random
import time

from gateway.domain import Capability, Secret, Tier
from gateway.pool.account import Account
from gateway.pool.index import SelectionIndex, Want
from gateway.pool.policy import AccountState, Health, can_serve

N = 10_000
PICKS = 20_000
TIERS = (Tier.FREE, Tier.PRO, Tier.ULTRA)
GROUPS = (frozenset(), frozenset({"ultra"}), frozenset({"pro"}), frozenset({"team-a", "pro"}))
WANT = Want(Capability.IMAGE, tier=Tier.PRO)


def accounts(cooling_share: float, rng: random.Random) -> list[Account]:
    """N accounts, ``cooling_share`` of them cooling down for an hour."""
    out = []
    for i in range(N):
        account = Account(
            id=f"acc_{i:05d}",
            label=str(i),
            session_token=Secret(""),
            tier=TIERS[i % 3],
            groups=GROUPS[i % 4],
            limits={Capability.IMAGE: 4, Capability.VIDEO: 2},
        )
        if rng.random() < cooling_share:
            account.health = Health(AccountState.COOLING_DOWN, "rate limited", since=0, cooldown_until=3600)
        out.append(account)
    return out


def run_index(pool: list[Account]) -> float:
    """Seconds per pick with the index (pick, count, re-index on release)."""
    index = SelectionIndex()
    for account in pool:
        index.update(account, 0.0)
    started = time.perf_counter()
    for _ in range(PICKS):
        account = index.pick(WANT, 1.0)
        assert account is not None
        account.inflight[Capability.IMAGE] += 1
        index.picked(account, 1.0, Capability.IMAGE)  # as the pool counts a lease
        account.inflight[Capability.IMAGE] -= 1
        index.moved(account, Capability.IMAGE, 1.0)  # and releases it
    return (time.perf_counter() - started) / PICKS


def run_pick_only(pool: list[Account]) -> float:
    """Seconds per ``pick`` alone (the read side of a lease)."""
    index = SelectionIndex()
    for account in pool:
        index.update(account, 0.0)
    started = time.perf_counter()
    for _ in range(PICKS):
        index.pick(WANT, 1.0)
    return (time.perf_counter() - started) / PICKS


def run_scan(pool: list[Account]) -> float:
    """Seconds per pick with a linear scan (what the first pool did), for the ratio."""
    picks = max(200, PICKS // 100)
    started = time.perf_counter()
    for _ in range(picks):
        ready = [
            a
            for a in pool
            if a.tier is not None
            and a.tier.rank >= WANT.tier.rank
            and can_serve(a.health, 1.0)
            and a.has_room(Capability.IMAGE)
        ]
        account = min(ready, key=lambda a: a.load(Capability.IMAGE))
        account.inflight[Capability.IMAGE] += 1
        account.inflight[Capability.IMAGE] -= 1
    return (time.perf_counter() - started) / picks


def measure(shares: tuple[float, ...] = (0.0, 0.5, 0.9)) -> list[tuple[float, float, float, float]]:
    """Per cooling share: seconds per pick, per lease cycle, and per linear-scan pick."""
    rng = random.Random(7)
    out = []
    for share in shares:
        pick_s = run_pick_only(accounts(share, rng))
        cycle_s, scan_s = run_index(accounts(share, rng)), run_scan(accounts(share, rng))
        out.append((share, pick_s, cycle_s, scan_s))
    return out


def render(results: list[tuple[float, float, float, float]]) -> str:
    """The Markdown table of :func:`measure`'s results."""
    lines = [
        f"## Account pick at {N:,} accounts ({PICKS:,} picks per row)\n",
        "| cooling down | pick µs | lease cycle µs (pick, count, release) | linear scan µs | scan / cycle |",
        "|---:|---:|---:|---:|---:|",
    ]
    for share, pick_s, cycle_s, scan_s in results:
        lines.append(
            f"| {share:.0%} | {pick_s * 1e6:.2f} | {cycle_s * 1e6:.2f} | {scan_s * 1e6:.0f} | "
            f"{scan_s / cycle_s:.0f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    """Print the table."""
    print(render(measure()))


if __name__ == "__main__":
    main()
