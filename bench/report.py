"""The report: one Markdown table (metric, gateway, reference, ratio, bar, met?) and its header.

A :class:`Row` holds the gateway's figure, the reference's figure measured in the same run, how the
two compare (``ratio``: gateway ÷ reference; ``added``: gateway − reference; ``none``), and a
:class:`Bar` on one of those, so that ``met?`` is computed, never typed by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMATS = {
    "req/s": "{:,.0f} req/s",
    "ms": "{:.2f} ms",
    "MB": "{:.1f} MB",
    "KB": "{:.1f} KB",
    "µs": "{:.2f} µs",
    "%": "{:.1f} %",
    "calls": "{:,.0f} calls",
    "streams": "{:,.0f} streams",
}


@dataclass(frozen=True)
class Bar:
    """A bar: ``on`` (``ratio``, ``added`` or ``gateway``) must be ``op`` (``>=``, ``<=``) ``limit``."""

    op: str
    limit: float
    on: str
    text: str


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    metric: str
    gateway: float
    reference: float | None
    unit: str
    compare: str = "ratio"
    bar: Bar | None = None
    note: str = ""

    def value(self, on: str) -> float | None:
        """The figure a bar is about."""
        if on == "gateway":
            return self.gateway
        if self.reference is None:
            return None
        if on == "added":
            return self.gateway - self.reference
        return self.gateway / self.reference if self.reference else None

    def cells(self) -> list[str]:
        """metric, gateway, reference, ratio, bar, met?"""
        reference = "—" if self.reference is None else fmt(self.reference, self.unit)
        return [
            self.metric,
            fmt(self.gateway, self.unit),
            reference,
            self.comparison(),
            self.bar_text(),
            self.met(),
        ]

    def comparison(self) -> str:
        """The ratio column: gateway ÷ reference, or the added amount."""
        value = self.value(self.compare) if self.compare in ("ratio", "added") else None
        if value is None:
            return "—"
        if self.compare == "added":
            return "+" + fmt(value, self.unit) if value >= 0 else "−" + fmt(-value, self.unit)
        return f"{value:.2g}" if value < 0.1 else f"{value:.2f}"

    def bar_text(self) -> str:
        """The bar as shown."""
        return "—" if self.bar is None else self.bar.text

    def met(self) -> str:
        """``yes``, ``no`` with the shortfall, or ``—`` without a bar."""
        if self.bar is None:
            return "—"
        value = self.value(self.bar.on)
        if value is None:
            return "n/a"
        if self.bar.op == ">=":
            if value >= self.bar.limit:
                return "yes"
            return f"no: short by {(self.bar.limit - value) / self.bar.limit:.0%}"
        if value <= self.bar.limit:
            return "yes"
        unit = "" if self.bar.on == "ratio" else self.unit
        over = fmt(value - self.bar.limit, unit) if unit else f"{value - self.bar.limit:.2f}"
        ratio = f", {value / self.bar.limit:.1f}× the bar" if self.bar.limit else ""
        return f"no: over by {over}{ratio}"


def fmt(value: float, unit: str) -> str:
    """A figure with its unit."""
    return FORMATS.get(unit, "{:.2f} " + unit).format(value).strip()


def at_least(limit: float, on: str = "ratio", text: str = "") -> Bar:
    """``on >= limit``."""
    return Bar(">=", limit, on, text or f"≥ {limit:g}")


def at_most(limit: float, on: str, text: str) -> Bar:
    """``on <= limit``."""
    return Bar("<=", limit, on, text)


def order(row: Row) -> tuple[int, str]:
    """M1 … M10 in order (M4b after M4), rows of one metric as they were measured."""
    match = re.match(r"M(\d+)(b?)", row.metric)
    return (int(match.group(1)), match.group(2)) if match else (99, "")


def table(rows: list[Row]) -> str:
    """The Markdown table, in the order of the metrics."""
    lines = ["| metric | gateway | reference | ratio | bar | met? |", "|---|---:|---:|---:|---|---|"]
    for row in sorted(rows, key=order):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |")
    notes = [f"- {row.metric}: {row.note}" for row in sorted(rows, key=order) if row.note]
    return "\n".join(lines + (["", *notes] if notes else []))
