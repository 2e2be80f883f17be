"""Prometheus gauges read from ``pool.snapshot()`` at scrape time (no bookkeeping on the hot path).

Labels stay low-cardinality (state, tier, capability), so 10,000 accounts cost a handful of series.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.pool.pool import AccountPool, AccountView


class PoolCollector(Collector):
    """Accounts by state and tier, in-flight leases and limits by capability, credits by tier."""

    def __init__(self, pool: AccountPool) -> None:
        self._pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One scrape."""
        views = self._pool.snapshot()
        accounts = GaugeMetricFamily(
            "gateway_pool_accounts", "Accounts by state and tier.", labels=["state", "tier"]
        )
        for (state, tier), n in Counter((v.state, v.tier or "unknown") for v in views).items():
            accounts.add_metric([state, tier], n)
        inflight = GaugeMetricFamily("gateway_pool_inflight_leases", "Leases held.", labels=["capability"])
        limits = GaugeMetricFamily(
            "gateway_pool_lease_limit", "Sum of per-account limits.", labels=["capability"]
        )
        for capability in ("image", "video"):
            inflight.add_metric([capability], sum(v.inflight.get(capability, 0) for v in views))
            limits.add_metric([capability], sum(v.limits.get(capability, 0) for v in views))
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
        for outcome, count in sorted(self._pool.outcomes.items()):
            outcomes.add_metric([outcome], count)
        yield from (accounts, inflight, limits, credits, waiting, waits, wait_seconds, outcomes)


def _credits_by_tier(views: list[AccountView]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for view in views:
        if view.credits is not None:
            totals[view.tier or "unknown"] += view.credits
    return dict(totals)
