"""What a PromQL expression refers to, and what the gateway exports, for the dashboard and rule tests.

Not a PromQL parser: expressions are reduced step by step (strings and Grafana variables blanked,
range and subquery brackets dropped, label matchers and grouping clauses lifted out) until only
metric names, function names, keywords and numbers are left. That is enough for the expressions
we write, and ``test_dashboard.py`` shows it catches an unknown name, a wrong suffix and a wrong label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

# Labels Prometheus adds to every scraped series (the Prometheus Operator adds the Kubernetes ones).
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod", "service", "container", "endpoint"})
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "unknown": ("",),
}
FUNCTIONS = frozenset(
    {
        *("abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes"),
        *("clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta"),
        *("day_of_month", "day_of_week", "days_in_month", "deriv", "exp", "floor", "group", "hour"),
        *("histogram_quantile", "holt_winters", "idelta", "increase", "irate", "label_join", "ln"),
        *("label_replace", "last_over_time", "log2", "log10", "max", "max_over_time", "min", "minute"),
        *("min_over_time", "month", "predict_linear", "present_over_time", "quantile", "rate", "resets"),
        *("quantile_over_time", "round", "scalar", "sgn", "sort", "sort_desc", "stddev", "stdvar"),
        *("stddev_over_time", "sum", "sum_over_time", "time", "timestamp", "topk", "vector", "year"),
    }
)
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
    | {"offset", "inf", "nan"}
)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GRAFANA_VARIABLE = re.compile(r"\$\{?\w+\}?")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)?\s*\{([^{}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?")


@dataclass
class Reference:
    """What one expression uses: metric names, label names per metric, grouping labels, functions."""

    metrics: set[str] = field(default_factory=set)
    matchers: dict[str, set[str]] = field(default_factory=dict)
    grouping: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)


def references(expr: str) -> Reference:
    """The names ``expr`` refers to; ValueError if its brackets do not balance."""
    text = _STRING.sub('""', expr)
    text = _GRAFANA_VARIABLE.sub("5m", text)
    for opening, closing in ("()", "{}", "[]"):
        if text.count(opening) != text.count(closing):
            raise ValueError(f"unbalanced {opening}{closing} in {expr!r}")
    ref = Reference()
    text = _BRACKETS.sub(" ", text)
    for match in _SELECTOR.finditer(text):
        labels = set(_MATCHER_LABEL.findall(match.group(2)))
        labels.discard("__name__")
        if match.group(1) and match.group(1) not in KEYWORDS:
            ref.matchers.setdefault(match.group(1), set()).update(labels)
    text = _SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text)
    for match in _GROUPING.finditer(text):
        ref.grouping.update(name.strip() for name in match.group(1).split(",") if name.strip())
    text = _GROUPING.sub(" ", text)
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call:
            ref.functions.add(name)
        elif name not in KEYWORDS:
            ref.metrics.add(name)
    ref.metrics.update(ref.matchers)
    return ref


def exported(registry: CollectorRegistry) -> dict[str, frozenset[str]]:
    """Every series name ``registry`` can expose (suffixes included), with its label names.

    Label names are not part of the exposition until a series has samples, so they are read from
    the instruments and metric families themselves.
    """
    labels: dict[str, tuple[str, ...]] = {}
    for collector in list(registry._collector_to_names):
        if hasattr(collector, "_labelnames") and hasattr(collector, "_name"):  # an instrument
            labels[collector._name] = tuple(collector._labelnames)
            continue
        for family in collector.collect():  # a scrape-time collector's families
            names = getattr(family, "_labelnames", None)
            if names is None:
                names = tuple({key for sample in family.samples for key in sample.labels})
            labels[family.name] = tuple(names)
    series: dict[str, frozenset[str]] = {}
    for family in registry.collect():
        for suffix in SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            series[family.name + suffix] = frozenset(labels.get(family.name, ())) | extra
    return series


def problems(expr: str, series: dict[str, frozenset[str]]) -> list[str]:
    """What in ``expr`` the gateway does not export (empty: everything checks out)."""
    try:
        ref = references(expr)
    except ValueError as exc:
        return [str(exc)]
    found = [f"unknown function {name}()" for name in sorted(ref.functions - FUNCTIONS)]
    found += [f"metric {name} is not exported" for name in sorted(ref.metrics - series.keys())]
    for name, used in sorted(ref.matchers.items()):
        unknown = used - series.get(name, frozenset()) - TARGET_LABELS
        if name in series and unknown:
            found.append(f"{name} has no label(s) {sorted(unknown)}")
    available = set(TARGET_LABELS).union(*(series.get(name, frozenset()) for name in ref.metrics))
    if ref.grouping - available:
        found.append(
            f"grouping by {sorted(ref.grouping - available)}: no such label on {sorted(ref.metrics)}"
        )
    if not ref.metrics:
        found.append("no metric at all")
    return found


def label_values_problems(query: str, series: dict[str, frozenset[str]]) -> list[str]:
    """A Grafana variable's ``label_values(selector, label)``: the selector and the label."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", query)
    if match is None:
        return [f"not a label_values(selector, label) query: {query!r}"]
    selector, label = match.groups()
    found = problems(selector, series)
    metrics = references(selector).metrics if not found else set()
    if metrics and not any(label in series.get(name, frozenset()) | TARGET_LABELS for name in metrics):
        found.append(f"no metric of {sorted(metrics)} has the label {label}")
    return found


def all_problems(exprs: Iterable[tuple[str, str]], series: dict[str, frozenset[str]]) -> list[str]:
    """``(where, expr)`` pairs to ``where: problem`` lines."""
    return [f"{where}: {problem}" for where, expr in exprs for problem in problems(expr, series)]
