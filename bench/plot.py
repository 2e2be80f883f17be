"""Small line charts as hand-written SVG (no plotting library): log-2 x axis, linear or log-10 y."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

W, H = 560, 340
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 36, 44
PW, PH = W - LEFT - RIGHT, H - TOP - BOTTOM
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
DASHES = ("", "6 4", "2 3", "8 3 2 3")

Series = tuple[str, Sequence[tuple[float, float]]]


def _label(value: float) -> str:
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


@dataclass(frozen=True)
class Scale:
    """Data to pixels: x on log 2 between the first and last concurrency, y on its ticks."""

    xs: list[float]
    yticks: list[float]
    logy: bool

    @classmethod
    def fit(cls, series: Sequence[Series], *, logy: bool) -> Scale:
        """Axes that hold every positive point."""
        points = [p for _, pts in series for p in pts if p[1] > 0] or [(1.0, 1.0)]
        xs = sorted({p[0] for p in points})
        ys = [p[1] for p in points]
        if logy:
            low, high = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
            return cls(xs, [10.0**e for e in range(low, max(high, low + 1) + 1)], logy)
        step = 10 ** math.floor(math.log10(max(ys) * 1.05))
        while max(ys) * 1.05 / step > 8:
            step *= 2
        return cls(xs, [i * step for i in range(int(max(ys) * 1.05 / step) + 2)], logy)

    def px(self, x: float) -> float:
        """The pixel column of a concurrency."""
        low, high = math.log2(self.xs[0]), math.log2(self.xs[-1])
        return LEFT + (math.log2(x) - low) / ((high - low) or 1) * PW

    def py(self, y: float) -> float:
        """The pixel row of a value."""

        def f(v: float) -> float:
            return math.log10(v) if self.logy else v

        low, high = f(self.yticks[0]), f(self.yticks[-1])
        return TOP + PH - (f(y) - low) / ((high - low) or 1) * PH


def _frame(title: str, ylabel: str, scale: Scale) -> list[str]:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="13" font-weight="bold">{title}</text>',
        f'<text x="{LEFT + PW / 2}" y="{H - 8}" text-anchor="middle">concurrent connections</text>',
        f'<text transform="translate(16 {TOP + PH / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>',
    ]
    for x in scale.xs:
        col = f"{scale.px(x):.1f}"
        out.append(f'<line x1="{col}" y1="{TOP}" x2="{col}" y2="{TOP + PH}" stroke="#eee"/>')
        out.append(f'<text x="{col}" y="{TOP + PH + 16}" text-anchor="middle">{_label(x)}</text>')
    for y in scale.yticks:
        row = f"{scale.py(y):.1f}"
        out.append(f'<line x1="{LEFT}" y1="{row}" x2="{LEFT + PW}" y2="{row}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{scale.py(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" fill="none" stroke="#444"/>')
    return out


def _line(i: int, name: str, points: Sequence[tuple[float, float]], scale: Scale) -> list[str]:
    colour, dash = COLOURS[i % len(COLOURS)], DASHES[(i // 2) % len(DASHES)]
    style = f' stroke-dasharray="{dash}"' if dash else ""
    shown = [(scale.px(x), scale.py(y)) for x, y in points if y > 0]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in shown)
    out = [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{style}/>']
    out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in shown]
    x0, ly = LEFT + PW + 12, TOP + 14 + 18 * i
    out.append(
        f'<line x1="{x0}" y1="{ly - 4}" x2="{x0 + 24}" y2="{ly - 4}" '
        f'stroke="{colour}" stroke-width="2"{style}/>'
    )
    out.append(f'<text x="{x0 + 28}" y="{ly}">{name}</text>')
    return out


def chart(title: str, ylabel: str, series: Sequence[Series], *, logy: bool = False) -> str:
    """An SVG line chart of ``series`` (name, points) over concurrency (x, log 2)."""
    scale = Scale.fit(series, logy=logy)
    out = _frame(title, ylabel, scale)
    for i, (name, points) in enumerate(series):
        out += _line(i, name, points, scale)
    return "\n".join([*out, "</svg>"]) + "\n"
