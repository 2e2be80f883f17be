"""Prometheus gauges read from ``pool.snapshot()`` at scrape time (no bookkeeping on the hot path).

Labels stay low-cardinality (state, tier, kind, capability, group: account groups are a handful of
operator-chosen names), so 10,000 accounts cost a handful of series.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.pool.policy import SERVING
from gateway.pool.pool import AccountPool
from gateway.pool.records import AccountView


class PoolCollector(Collector):
    """Accounts by state, tier and kind; leases and limits by capability and group; credits; picks."""

    def __init__(self, pool: AccountPool) -> None:
        self._pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One scrape."""
        views = self._pool.table.snapshot()
        accounts = GaugeMetricFamily(
            "gateway_pool_accounts", "Accounts by state, tier and kind.", labels=["state", "tier", "kind"]
        )
        for (state, tier, kind), n in Counter((v.state, v.tier or "unknown", v.kind) for v in views).items():
            accounts.add_metric([state, tier, kind], n)
        inflight = GaugeMetricFamily(
            "gateway_pool_inflight_leases", "Leases held, by account group.", labels=["capability", "group"]
        )
        limits = GaugeMetricFamily(
            "gateway_pool_lease_limit",
            "Sum of per-account limits of serving accounts, by account group.",
            labels=["capability", "group"],
        )
        for (capability, group), (held, limit) in sorted(_by_group(views).items()):
            inflight.add_metric([capability, group], held)
            limits.add_metric([capability, group], limit)
        credits = GaugeMetricFamily(
            "gateway_pool_credits", "Flow credits last reported, by tier.", labels=["tier"]
        )
        for tier, total in _credits_by_tier(views).items():
            credits.add_metric([tier], total)
        waiting = GaugeMetricFamily("gateway_pool_waiting_requests", "Requests waiting for a free account.")
        waiting.add_metric([], self._pool.waiting)
        waits = CounterMetricFamily("gateway_pool_waits", "Requests that had to wait.")
        waits.add_metric([], self._pool.waits)
        wait_seconds = CounterMetricFamily("gateway_pool_wait_seconds", "Time spent waiting for an account.")
        wait_seconds.add_metric([], self._pool.wait_seconds)
        outcomes = CounterMetricFamily(
            "gateway_pool_outcomes", "Lease outcomes by class.", labels=["outcome"]
        )
        for outcome, count in sorted(self._pool.table.outcomes.items()):
            outcomes.add_metric([outcome], count)
        picks = CounterMetricFamily(
            "gateway_pool_picks", "Accounts picked for a lease.", labels=["capability"]
        )
        for capability, count in sorted(self._pool.picks.items()):
            picks.add_metric([capability], count)
        cooldowns = CounterMetricFamily("gateway_pool_cooldowns", "Cooldowns started after a 429.")
        cooldowns.add_metric([], self._pool.table.cooldowns)
        incident = GaugeMetricFamily(
            "gateway_upstream_incident",
            "1 while most accounts fail together and the pool backs off (an upstream incident).",
        )
        incident.add_metric([], 1.0 if self._pool.table.incident.active(time.time()) else 0.0)
        yield from (
            accounts,
            inflight,
            limits,
            credits,
            waiting,
            waits,
            wait_seconds,
            outcomes,
            picks,
            cooldowns,
            incident,
        )


def _by_group(views: list[AccountView]) -> dict[tuple[str, str], tuple[int, int]]:
    """(capability, group) -> (leases held, limit of serving accounts); "none" for ungrouped accounts."""
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for view in views:
        for group in view.groups or ("none",):
            for capability in ("image", "video"):
                held, limit = totals.get((capability, group), (0, 0))
                serving = view.limits.get(capability, 0) if view.state in SERVING else 0
                totals[(capability, group)] = (held + view.inflight.get(capability, 0), limit + serving)
    return totals


def _credits_by_tier(views: list[AccountView]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for view in views:
        if view.credits is not None:
            totals[view.tier or "unknown"] += view.credits
    return dict(totals)
