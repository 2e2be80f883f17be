"""Selection in O(classes + log n): which account serves a lease, without scanning the pool.

Accounts fall into classes by (tier, groups) — a handful in any real pool. Per class there is a
lazily invalidated heap of ready accounts per capability, keyed by load after one more lease
(divided by the account's weight) and then by when it was last picked (fairness among equals), and
a heap of cooldown ends. Every change to an account re-indexes it (``update``); stale heap entries
are recognised by a version number and dropped when they surface. Ready entries carry a version per
capability, so a lease starting or ending (the change that happens on every request) re-indexes
that capability alone (``moved``). Pure: no clock of its own, no I/O.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from dataclasses import dataclass, field

from gateway.domain import Capability, Tier
from gateway.pool import policy
from gateway.pool.account import Account

ClassKey = tuple[int, frozenset[str]]
_RANK = {tier: tier.rank for tier in Tier}
CAPABILITIES = tuple(Capability)  # iterating the enum itself costs more than the rest of an update
SERVING = policy.SERVING


@dataclass(frozen=True, slots=True)
class Want:
    """What a pick must satisfy."""

    capability: Capability
    tier: Tier = Tier.FREE
    groups: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    credits: int = 0
    feature: str = ""
    needs: tuple[frozenset[str], ...] = ()
    priority: int = 0  # the licence's: higher waits less when every capable account is busy


class Reach(enum.Enum):
    """Whether some account could serve a want: now or after a wait; or not, because Flow refused it,
    because its daily quota of it is spent, or because no account's catalogue offers it."""

    SERVING = "serving"
    REFUSED = "refused"
    EXHAUSTED = "exhausted"
    UNOFFERED = "unoffered"
    NONE = "none"


@dataclass(slots=True)
class _Class:
    ready: dict[Capability, list[tuple[float, int, int, str]]] = field(
        default_factory=lambda: {c: [] for c in Capability}
    )
    cooling: list[tuple[float, int, str]] = field(default_factory=list)
    members: set[str] = field(default_factory=set)


class SelectionIndex:
    """The pool's accounts, indexed for picking."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._classes: dict[ClassKey, _Class] = {}
        self._class_of: dict[str, ClassKey] = {}
        self._version: dict[str, int] = {}  # per account: cooling entries, any change
        self._cap_version: dict[Capability, dict[str, int]] = {c: {} for c in CAPABILITIES}  # ready entries
        self._last_pick: dict[str, int] = {}
        self._turn = itertools.count(1)
        self._stamps = itertools.count(1)  # versions: unique across accounts and capabilities
        # Which classes a (tier rank, groups) want matches: classes appear rarely, wants repeat.
        self._matches: dict[tuple[int, frozenset[str]], list[_Class]] = {}

    def __len__(self) -> int:
        return len(self._accounts)

    def update(self, account: Account, now: float) -> None:
        """(Re)index an account after any change: health, tier, groups, limits, in-flight leases."""
        key = (_RANK[account.tier] if account.tier is not None else -1, account.groups)
        old = self._class_of.get(account.id)
        if old is not None and old != key:
            self._classes[old].members.discard(account.id)
        self._accounts[account.id] = account
        self._class_of[account.id] = key
        klass = self._classes.get(key)
        if klass is None:
            klass = self._classes[key] = _Class()
            self._matches.clear()
        klass.members.add(account.id)
        version = next(self._stamps)
        self._version[account.id] = version
        for versions in self._cap_version.values():  # every ready entry it had is stale now
            versions[account.id] = version
        health = account.health
        if health.state not in SERVING:
            return
        if health.cooldown_until > now:
            heapq.heappush(klass.cooling, (health.cooldown_until, version, account.id))
            return
        for capability in CAPABILITIES:
            blocked = account.blocked_until(capability, now) if account.rpm or account.daily else 0.0
            if blocked > now:
                # Rate or daily cap: wake it again when the window opens (one entry per change).
                heapq.heappush(klass.cooling, (blocked, version, account.id))
                self._compact_cooling(klass)
            else:
                self._ready(klass, account, capability, version)

    def moved(self, account: Account, capability: Capability, now: float) -> None:
        """Re-index an account whose in-flight count for ``capability`` alone changed (a lease began
        or ended). Only that capability's entry moves, unless the change can reach further (a
        half-open probe, a rate or daily cap, a cooldown, an account not ready): then ``update``."""
        health = account.health
        if (
            account.rpm
            or account.daily
            or health.probing
            or health.state not in SERVING
            or health.cooldown_until > now
            or account.id not in self._class_of
        ):
            self.update(account, now)
            return
        klass = self._classes[self._class_of[account.id]]
        self._ready(klass, account, capability, next(self._stamps))

    def _ready(self, klass: _Class, account: Account, capability: Capability, version: int) -> None:
        """(Re)place ``account``'s entry in the ready heap of ``capability`` (none while it is full)."""
        self._cap_version[capability][account.id] = version
        if not account.has_room(capability):
            return
        entry = (_score(account, capability), self._last_pick.get(account.id, 0), version, account.id)
        heap = klass.ready[capability]
        heapq.heappush(heap, entry)
        if len(heap) > 4 * len(klass.members) + 64:
            self._compact(klass, capability)

    def remove(self, account_id: str) -> None:
        """Forget an account (its heap entries turn stale and are dropped as they surface)."""
        self._accounts.pop(account_id, None)
        key = self._class_of.pop(account_id, None)
        if key is not None:
            self._classes[key].members.discard(account_id)
        self._version.pop(account_id, None)
        for versions in self._cap_version.values():
            versions.pop(account_id, None)
        self._last_pick.pop(account_id, None)

    def _compact(self, klass: _Class, capability: Capability) -> None:
        """Drop stale entries once they outnumber live ones, so heaps stay O(members)."""
        versions = self._cap_version[capability]
        live = [e for e in klass.ready[capability] if versions.get(e[3]) == e[2]]
        heapq.heapify(live)
        klass.ready[capability] = live

    def _compact_cooling(self, klass: _Class) -> None:
        if len(klass.cooling) > 4 * len(klass.members) + 64:
            klass.cooling = [e for e in klass.cooling if self._current(e[1], e[2])]
            heapq.heapify(klass.cooling)

    def picked(self, account: Account, now: float, capability: Capability | None = None) -> None:
        """Record that ``account`` was just leased (it goes to the back among equals), and re-index it
        (only ``capability``'s entry, when that is all the lease changed)."""
        self._last_pick[account.id] = next(self._turn)
        account.note_pick(now)
        if capability is None:
            self.update(account, now)
        else:
            self.moved(account, capability, now)

    def pick(self, want: Want, now: float) -> Account | None:
        """The best ready account for ``want``, or None when every capable one is busy or cooling."""
        best: tuple[tuple[float, int], Account] | None = None
        for klass in self._matching(want):
            if klass.cooling and klass.cooling[0][0] <= now:  # the common case (nothing due) costs no call
                self._promote(klass, now)
            if not klass.ready[want.capability]:
                continue
            found = self._top(klass, want, now)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        return best[1] if best else None

    def heap_entries(self) -> int:
        """Entries held in every heap, stale ones included (bounded by compaction; for metrics and tests)."""
        ready = sum(len(heap) for klass in self._classes.values() for heap in klass.ready.values())
        return ready + sum(len(klass.cooling) for klass in self._classes.values())

    def classes(self, want: Want) -> tuple[bool, bool]:
        """(some account is in the wanted groups, some of those has the tier): for immediate errors."""
        in_group = [k for k in self._classes if self._classes[k].members and _groups_match(k, want)]
        return bool(in_group), any(k[0] == -1 or k[0] >= want.tier.rank for k in in_group)

    def reach(self, want: Want, now: float) -> tuple[Reach, float]:
        """Whether a capable, non-excluded account serves now or after a wait (stops at the first);
        with ``EXHAUSTED``, the soonest time a spent daily quota comes back."""
        seen: set[Reach] = set()
        back = 0.0
        for klass in self._matching(want):
            for account_id in klass.members:
                account = self._accounts[account_id]
                if account_id in want.exclude or account.health.state not in SERVING:
                    continue
                if not account.serves(want.needs):
                    seen.add(Reach.UNOFFERED)
                    continue
                if account.refuses(want.feature, now):
                    until = account.quota_until(want.feature, now)
                    seen.add(Reach.EXHAUSTED if until else Reach.REFUSED)
                    back = min(back, until) if back and until else back or until
                    continue
                return Reach.SERVING, 0.0
        for reach in (Reach.EXHAUSTED, Reach.REFUSED, Reach.UNOFFERED):
            if reach in seen:
                return reach, back
        return Reach.NONE, 0.0

    def free_within(self, want: Want, now: float, budget: float) -> bool:
        """Whether a capable account is busy, or ready again within ``budget`` seconds (stops at the
        first: only called when no account could be picked, and busy pools find one at once)."""
        for klass in self._matching(want):
            for account_id in klass.members:
                account = self._accounts[account_id]
                if account_id in want.exclude or account.health.state not in SERVING:
                    continue
                if not account.serves(want.needs) or account.refuses(want.feature, now):
                    continue
                ready_at = max(account.health.cooldown_until, account.blocked_until(want.capability, now))
                if ready_at - now <= budget:
                    return True
        return False

    def soonest_ready(self, want: Want, now: float) -> float | None:
        """Seconds until the soonest cooldown of a capable account ends, if any is cooling."""
        ends = []
        for klass in self._matching(want):
            self._promote(klass, now)
            while klass.cooling and not self._current(klass.cooling[0][1], klass.cooling[0][2]):
                heapq.heappop(klass.cooling)
            if klass.cooling:
                ends.append(klass.cooling[0][0] - now)
        return max(0.0, min(ends)) if ends else None

    def _matching(self, want: Want) -> list[_Class]:
        signature = (_RANK[want.tier], want.groups)
        found = self._matches.get(signature)
        if found is None:
            rank = signature[0]
            found = [
                k
                for key, k in self._classes.items()
                if (key[0] == -1 or key[0] >= rank) and _groups_match(key, want)
            ]
            self._matches[signature] = found
        return found

    def _promote(self, klass: _Class, now: float) -> None:
        while klass.cooling and klass.cooling[0][0] <= now:
            _, version, account_id = heapq.heappop(klass.cooling)
            if self._current(version, account_id):
                self.update(self._accounts[account_id], now)

    def _top(self, klass: _Class, want: Want, now: float) -> tuple[tuple[float, int], Account] | None:
        heap = klass.ready[want.capability]
        skipped = []
        found = None
        versions = self._cap_version[want.capability]
        while heap:
            score, turn, version, account_id = heap[0]
            if versions.get(account_id) != version:
                heapq.heappop(heap)
                continue
            account = self._accounts[account_id]
            if (
                account_id in want.exclude
                or (account.credits is not None and account.credits < want.credits)
                or (account.refused and account.refuses(want.feature, now))
                or (account.offers is not None and want.needs and not account.serves(want.needs))
            ):
                skipped.append(heapq.heappop(heap))  # wanted by other requests: put back below
                continue
            found = ((score, turn), account)
            break
        for entry in skipped:
            heapq.heappush(heap, entry)
        return found

    def _current(self, version: int, account_id: str) -> bool:
        return self._version.get(account_id) == version


def _groups_match(key: ClassKey, want: Want) -> bool:
    return not want.groups or bool(key[1] & want.groups)


def _score(account: Account, capability: Capability) -> float:
    limit = account.limits.get(capability, 0)
    held = account.inflight[capability] + account.elsewhere[capability]
    return (held + 1) / (limit * account.weight) if limit > 0 else float("inf")
