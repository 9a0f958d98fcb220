"""Tiny inline SVG charts (no JavaScript, no external assets) for report.html."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

COLOURS = ["#2f6f4e", "#5b8fd6", "#d69a3a", "#b5534a"]


def grouped_bars(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    title: str,
    label_width: int = 130,
    bar_width: int = 360,
) -> str:
    """Horizontal bars, one group per label, one bar per series; values in [0, 1]."""
    names = list(series)
    bar_h, gap = 11, 10
    group_h = bar_h * len(names) + gap
    top = 40
    height = top + group_h * len(labels) + 10
    width = label_width + bar_width + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
    ]
    x = label_width
    for i, name in enumerate(names):
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="31" class="legend">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 16
    for g, label in enumerate(labels):
        y0 = top + g * group_h
        parts.append(
            f'<text x="{label_width - 6}" y="{y0 + group_h / 2}" text-anchor="end" class="label">{escape(label)}</text>'
        )
        for i, name in enumerate(names):
            value = series[name][g]
            y = y0 + i * bar_h
            w = 0 if value is None else max(0.0, min(1.0, value)) * bar_width
            colour = COLOURS[i % len(COLOURS)]
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colour}">'
                f"<title>{escape(label)} · {escape(name)}: {_num(value)}</title></rect>"
            )
            parts.append(f'<text x="{label_width + w + 4:.1f}" y="{y + bar_h - 3}" class="value">{_num(value)}</text>')
    parts.append(f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{height - 8}" class="axis"/></svg>')
    return "".join(parts)


def histogram(values: Sequence[float], title: str, unit: str = "ms", bins: int = 20) -> str:
    """Vertical bars of how many values fall in each bin."""
    width, height, left, bottom, top = 520, 220, 40, 30, 26
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
    ]
    if not values:
        parts.append(f'<text x="{left}" y="{height / 2}" class="label">no data</text></svg>')
        return "".join(parts)
    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
    plot_w, plot_h = width - left - 10, height - top - bottom
    bar_w = plot_w / len(counts)
    peak = max(int(counts.max()), 1)
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * bar_w
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
            f'fill="{COLOURS[1]}"><title>{edges[i]:.0f}–{edges[i + 1]:.0f} {unit}: {count}</title></rect>'
        )
    base = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" class="axis"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" class="axis"/>')
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" class="value">{peak}</text>')
    parts.append(f'<text x="{left - 4}" y="{base}" text-anchor="end" class="value">0</text>')
    for frac in (0, 0.5, 1):
        edge = edges[0] + frac * (edges[-1] - edges[0])
        x = left + frac * plot_w
        anchor = {0: "start", 0.5: "middle", 1: "end"}[frac]
        parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="{anchor}" class="value">{edge:.0f} {unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
