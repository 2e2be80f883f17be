"""The Grafana dashboard and the alert rules refer only to series the gateway exports.

The exported names are read from a started gateway's registry (every instrument and every
scrape-time collector: pool, tasks, webhooks), so a renamed metric or label fails here, not in
an operator's empty panel or silent alert.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from gateway import keys
from tests.deploy.promql import all_problems, exported, label_values_problems, problems, references

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "flow-gateway.json"
RULES = DEPLOY / "k8s" / "components" / "monitoring" / "prometheusrule.yaml"
# kubectl apply keeps the last applied object in an annotation limited to 256 KiB.
MAX_DASHBOARD_BYTES = 200_000


@pytest.fixture
async def series(client_with: Callable[..., Awaitable[TestClient]]) -> dict[str, frozenset[str]]:
    client = await client_with()
    return exported(client.app[keys.METRICS].registry)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs() -> list[tuple[str, str]]:
    return [
        (f"panel {panel['title']!r} {target['refId']}", target["expr"])
        for panel in panels(dashboard())
        for target in panel.get("targets", [])
    ]


def rule_exprs() -> list[tuple[str, str]]:
    rule = yaml.safe_load(RULES.read_text())
    return [
        (f"rule {entry.get('alert') or entry.get('record')}", entry["expr"])
        for group in rule["spec"]["groups"]
        for entry in group["rules"]
    ]


def test_every_dashboard_expression_uses_exported_series(series: dict[str, frozenset[str]]) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) > 40
    assert all_problems(exprs, series) == []


def test_every_variable_query_uses_exported_series(series: dict[str, frozenset[str]]) -> None:
    variables = [v for v in dashboard()["templating"]["list"] if v["type"] == "query"]
    assert {v["name"] for v in variables} >= {"job", "instance", "licence", "model"}
    for variable in variables:
        assert label_values_problems(variable["query"]["query"], series) == [], variable["name"]


def test_every_alert_expression_uses_exported_series(series: dict[str, frozenset[str]]) -> None:
    exprs = rule_exprs()
    assert len(exprs) >= 10
    assert all_problems(exprs, series) == []


def test_the_dashboard_covers_what_operators_watch() -> None:
    """Traffic and errors by route, model and licence; latency; pool states, credits and cooldowns;
    queue wait; captcha and workers; task backlog and durations."""
    used = set().union(*(references(expr).metrics for _, expr in dashboard_exprs()))
    grouped = set().union(*(references(expr).grouping for _, expr in dashboard_exprs()))
    assert {"route", "model", "licence", "state", "tier", "kind", "stage", "source"} <= grouped
    assert {
        "gateway_http_requests_total",
        "gateway_http_request_duration_seconds_bucket",
        "gateway_licence_generations_total",
        "gateway_licence_credits_total",
        "gateway_pool_accounts",
        "gateway_pool_credits",
        "gateway_pool_cooldowns_total",
        "gateway_pool_wait_seconds_total",
        "gateway_captcha_solves_total",
        "gateway_captcha_refusals_total",
        "gateway_tasks_unfinished",
        "gateway_generation_duration_seconds_bucket",
    } <= used


def test_the_alerts_cover_the_issue_list() -> None:
    alerts = {where.removeprefix("rule ") for where, _ in rule_exprs()}
    assert {
        "FlowGatewayNoUsableAccount",
        "FlowGatewayHighErrorRate",
        "FlowGatewayCaptchaRefusals",
        "FlowGatewayTaskBacklog",
        "FlowGatewayUpstreamShapeMismatch",
        "FlowGatewayLicenceBudgetExhausted",
    } <= alerts


def test_rules_have_the_shape_the_operator_expects() -> None:
    """PrometheusRule is a CRD kubernetes-validate has no schema for: its shape, checked here."""
    rule = yaml.safe_load(RULES.read_text())
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    names = [group["name"] for group in rule["spec"]["groups"]]
    assert len(names) == len(set(names))
    for group in rule["spec"]["groups"]:
        for entry in group["rules"]:
            assert set(entry) <= {"alert", "expr", "for", "labels", "annotations"}, entry
            assert entry["alert"].startswith("FlowGateway")
            assert isinstance(entry["expr"], str)
            assert entry["labels"]["severity"] in {"critical", "warning", "info"}
            assert {"summary", "description"} <= set(entry["annotations"])
            if "for" in entry:
                assert entry["for"][:-1].isdigit() and entry["for"][-1] in "smh", entry["for"]


def test_dashboard_is_well_formed() -> None:
    assert DASHBOARD.stat().st_size < MAX_DASHBOARD_BYTES
    board = dashboard()
    assert board["uid"] == "flow-gateway"
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
    datasource = board["templating"]["list"][0]
    assert (datasource["name"], datasource["type"], datasource["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("sum(rate(gateway_nonexistent_total[5m]))", "metric gateway_nonexistent_total is not exported"),
        ("rate(gateway_http_requests[5m])", "metric gateway_http_requests is not exported"),  # no _total
        ("gateway_pool_accounts_total", "metric gateway_pool_accounts_total is not exported"),  # a gauge
        ('gateway_pool_accounts{status="active"}', "gateway_pool_accounts has no label(s) ['status']"),
        ("sum by (licence) (gateway_pool_accounts)", "grouping by ['licence']"),
        ("rat(gateway_pool_accounts[5m])", "unknown function rat()"),
        ("sum(rate(gateway_pool_waits_total[5m])", "unbalanced ()"),
    ],
)
def test_the_checker_catches_mistakes(series: dict[str, frozenset[str]], expr: str, expected: str) -> None:
    """The checks above would pass on an empty dashboard if the checker saw nothing: it does see."""
    found = problems(expr, series)
    assert any(expected in problem for problem in found), found


def test_the_checker_accepts_suffixes_and_target_labels(series: dict[str, frozenset[str]]) -> None:
    buckets = 'gateway_http_request_duration_seconds_bucket{job=~"$job", route!="/x"}[$__rate_interval]'
    expr = (
        f"histogram_quantile(0.9, sum by (le, route, namespace) (rate({buckets})))"
        " / on (namespace) group_left sum by (namespace)"
        " (rate(gateway_http_request_duration_seconds_count[5m]))"
        " + sum(gateway_http_request_duration_seconds_sum)"
        " + sum(rate(gateway_pool_waits_total[1h] offset 5m))"
    )
    assert problems(expr, series) == []


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed: PromQL syntax unchecked"
)
def test_promtool_parses_every_expression(tmp_path: Path) -> None:
    """Prometheus' own parser over the rules, and over the panels' queries as recording rules."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(yaml.safe_load(RULES.read_text())["spec"]))
    records = []
    for i, (_, expr) in enumerate(dashboard_exprs()):
        expr = expr.replace("$__rate_interval", "5m").replace("$__range", "1h")
        records.append({"record": f"dashboard:expr{i}", "expr": re.sub(r"\$\{?\w+\}?", ".*", expr)})
    (tmp_path / "panels.yml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": records}]}))
    done = subprocess.run(
        ["promtool", "check", "rules", str(tmp_path / "rules.yml"), str(tmp_path / "panels.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
