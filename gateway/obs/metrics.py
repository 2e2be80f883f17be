"""Prometheus metrics on a per-app registry (never the global one), named by Prometheus conventions.

``GatewayMetrics`` owns the registry and the instruments; ``metrics_handler`` serves it at
``/metrics``; ``upstream_trace_config`` feeds the upstream instruments from aiohttp client traces.
Collectors that read state at scrape time (the pool) are added with ``register_collector``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import yarl
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from gateway.obs.tally import count_upstream_call

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
GENERATION_BUCKETS = (1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900)
DEFAULT_LICENCE_LABELS = 50
OTHER = "other"


class LabelCap:
    """Bounds a label's values: the first ``limit`` distinct values keep their own, later ones share
    ``other`` (a licence per customer must not turn into unbounded series)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def label(self, value: str) -> str:
        """``value``, or ``other`` once ``limit`` other values have been labelled."""
        if value in self._seen:
            return value
        if len(self._seen) < self._limit:
            self._seen.add(value)
            return value
        return OTHER


class GatewayMetrics:
    """Every instrument of the gateway, on one registry."""

    def __init__(self, *, max_licence_labels: int = DEFAULT_LICENCE_LABELS) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.licence_labels = LabelCap(max_licence_labels)
        r = self.registry
        self.http_requests = Counter(
            "gateway_http_requests", "HTTP requests served.", ["method", "route", "status"], registry=r
        )
        self.http_duration = Histogram(
            "gateway_http_request_duration_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.http_inflight = Gauge(
            "gateway_http_inflight_requests", "HTTP requests in flight.", ["route"], registry=r
        )
        self.upstream_requests = Counter(
            "gateway_upstream_requests", "Upstream HTTP calls.", ["endpoint", "outcome"], registry=r
        )
        self.upstream_duration = Histogram(
            "gateway_upstream_request_duration_seconds",
            "Upstream call latency.",
            ["endpoint"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.captcha_solves = Counter(
            "gateway_captcha_solves", "reCAPTCHA solves.", ["provider", "outcome"], registry=r
        )
        self.captcha_duration = Histogram(
            "gateway_captcha_solve_duration_seconds",
            "reCAPTCHA solve latency.",
            ["provider"],
            buckets=GENERATION_BUCKETS,
            registry=r,
        )
        self.captcha_tokens_served = Counter(
            "gateway_captcha_tokens_served",
            "reCAPTCHA tokens handed to a generation, by where they came from: ready (solved ahead),"
            " waited (a solve ahead already under way) or direct (solved for that request).",
            ["provider", "source"],
            registry=r,
        )
        self.captcha_tokens_wasted = Counter(
            "gateway_captcha_tokens_wasted",
            "Tokens solved ahead that expired unused.",
            ["provider"],
            registry=r,
        )
        self.captcha_tokens_ready = Gauge(
            "gateway_captcha_tokens_ready", "Tokens solved ahead and ready now.", ["provider"], registry=r
        )
        self.generation_duration = Histogram(
            "gateway_generation_duration_seconds",
            "Whole generation latency.",
            ["kind"],
            buckets=GENERATION_BUCKETS,
            registry=r,
        )
        self.upstream_calls_per_request = Histogram(
            "gateway_upstream_calls_per_request",
            "Calls to Flow made for one client request (requests that made none are not observed).",
            ["route"],
            buckets=(1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50),
            registry=r,
        )
        self.captcha_refusals = Counter(
            "gateway_captcha_refusals",
            "reCAPTCHA tokens Flow refused, by where they came from (solver or worker).",
            ["source"],
            registry=r,
        )
        self.shape_mismatches = Counter(
            "gateway_upstream_shape_mismatch",
            "flow.google.com replies whose structure matches none of the evidence's shapes, by RPC.",
            ["rpc"],
            registry=r,
        )
        self.catalogue_unread = Counter(
            "gateway_account_catalogue_unread",
            "Reads of an account's Flow catalogue or credits that failed (the account is still served).",
            registry=r,
        )
        self.upstream_attempts = Counter(
            "gateway_generation_attempts", "Upstream generation attempts.", ["kind", "outcome"], registry=r
        )

        self.licence_generations = Counter(
            "gateway_licence_generations",
            "Generations settled, by licence (the first max_licence_labels seen, then 'other'), model, "
            "kind and outcome (succeeded, failed, cancelled).",
            ["licence", "model", "kind", "outcome"],
            registry=r,
        )
        self.licence_credits = Counter(
            "gateway_licence_credits",
            "Flow credits settled (spent), by licence and model.",
            ["licence", "model"],
            registry=r,
        )
        self.licence_refusals = Counter(
            "gateway_licence_refusals",
            "Requests a licence's limits refused, by licence and error code.",
            ["licence", "code"],
            registry=r,
        )

    def observe_usage(self, licence: str, model: str, kind: str, outcome: str, credits: int) -> None:
        """One generation settled."""
        label = self.licence_labels.label(licence)
        self.licence_generations.labels(label, model, kind, outcome).inc()
        if credits:
            self.licence_credits.labels(label, model).inc(credits)

    def observe_refusal(self, licence: str, code: str) -> None:
        """One request refused by its licence's limits."""
        self.licence_refusals.labels(self.licence_labels.label(licence), code).inc()

    def observe_upstream(self, endpoint: str, outcome: str, seconds: float) -> None:
        """One upstream HTTP call."""
        self.upstream_requests.labels(endpoint, outcome).inc()
        self.upstream_duration.labels(endpoint).observe(seconds)

    def observe_captcha(self, provider: str, outcome: str, seconds: float) -> None:
        """One captcha solve."""
        self.captcha_solves.labels(provider, outcome).inc()
        self.captcha_duration.labels(provider).observe(seconds)

    def observe_generation(self, kind: str, seconds: float) -> None:
        """One whole generation request."""
        self.generation_duration.labels(kind).observe(seconds)

    def observe_attempt(self, kind: str, outcome: str) -> None:
        """One upstream generation attempt and its outcome class."""
        self.upstream_attempts.labels(kind, outcome).inc()

    def register_collector(self, collector: Collector) -> None:
        """Add a scrape-time collector (e.g. pool gauges)."""
        self.registry.register(collector)


def metrics_handler(metrics: GatewayMetrics) -> Callable[[web.Request], Any]:
    """An aiohttp handler serving the registry in the Prometheus text format."""

    async def handle(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle


def upstream_trace_config(
    metrics: GatewayMetrics, endpoint_of: Callable[[yarl.URL], str]
) -> aiohttp.TraceConfig:
    """A client trace config recording each upstream call's endpoint, outcome and duration."""
    trace = aiohttp.TraceConfig()

    async def on_start(_: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
        count_upstream_call()
        ctx.started = time.monotonic()
        ctx.endpoint = endpoint_of(params.url)

    async def on_end(_: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
        metrics.observe_upstream(
            ctx.endpoint, f"{params.response.status // 100}xx", time.monotonic() - ctx.started
        )

    async def on_error(_: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
        metrics.observe_upstream(ctx.endpoint, "error", time.monotonic() - ctx.started)

    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_error)
    return trace
