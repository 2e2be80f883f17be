"""Prometheus series of the task engine and the video poller, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.service.poller import VideoPoller
from gateway.service.tasks import TaskEngine


class TaskCollector(Collector):
    """Unfinished tasks by kind and stage; poll calls, jobs asked, poll errors, jobs watched; task
    claims held, taken over, lost."""

    def __init__(self, engine: TaskEngine, poller: VideoPoller) -> None:
        self._engine = engine
        self._poller = poller

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One scrape."""
        tasks = GaugeMetricFamily(
            "gateway_tasks_unfinished", "Tasks not yet finished.", labels=["kind", "stage"]
        )
        for (kind, stage), count in sorted(self._engine.live_counts().items()):
            tasks.add_metric([kind, stage], count)
        stats = self._poller.stats
        calls = CounterMetricFamily(
            "gateway_video_polls", "Status calls made for video jobs (each asks for many)."
        )
        calls.add_metric([], stats.calls)
        asked = CounterMetricFamily("gateway_video_poll_jobs", "Jobs asked about, summed over status calls.")
        asked.add_metric([], stats.jobs_asked)
        errors = CounterMetricFamily("gateway_video_poll_errors", "Status calls that failed.")
        errors.add_metric([], stats.errors)
        watched = GaugeMetricFamily("gateway_video_jobs_watched", "Upstream video jobs being polled.")
        watched.add_metric([], stats.watching)
        yield from (tasks, calls, asked, errors, watched, *self._ownership())

    def _ownership(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """Claims on tasks (several replicas on Redis): held here, taken over, lost to another."""
        ownership = self._engine.ownership
        held = GaugeMetricFamily("gateway_tasks_claimed", "Unfinished tasks this replica holds and runs.")
        held.add_metric([], len(ownership.held))
        taken = CounterMetricFamily(
            "gateway_tasks_taken_over", "Tasks resumed here after the replica running them went away."
        )
        taken.add_metric([], ownership.taken_over)
        lost = CounterMetricFamily(
            "gateway_tasks_claims_lost", "Tasks stopped here because another replica holds them now."
        )
        lost.add_metric([], ownership.lost)
        yield from (held, taken, lost)
