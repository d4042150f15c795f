"""Charts and graphs drawn on the server as SVG: no JavaScript library, nothing
fetched from the internet, readable by screen readers (each chart has a title
and each mark a tooltip), and the same picture in every browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup, escape

#: one CSS class per series (colours in console.css)
SERIES_CLASSES = ("s0", "s1", "s2", "s3", "s4", "s5")


def stacked_bars(
    title: str,
    columns: Sequence[tuple[str, Mapping[str, int]]],
    series: Sequence[str],
    *,
    width: int = 640,
    height: int = 200,
) -> Markup:
    """Vertical bars, one per column (a day), stacked by series, with a legend."""
    top = max([sum(values.values()) for _, values in columns] + [1])
    left, bottom, legend = 36, 22, 18 * math.ceil(len(series) / 3)
    plot_h = height - bottom - legend - 8
    step = (width - left) / max(len(columns), 1)
    bar = max(step * 0.7, 2)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text class="axis" x="{left - 4}" y="12" text-anchor="end">{top}</text>',
        f'<text class="axis" x="{left - 4}" y="{plot_h + 4}" text-anchor="end">0</text>',
        f'<line class="axis-line" x1="{left}" y1="{plot_h}" x2="{width}" y2="{plot_h}"/>',
    ]
    for i, (label, values) in enumerate(columns):
        x = left + i * step + (step - bar) / 2
        y = float(plot_h)
        for s, name in enumerate(series):
            count = values.get(name, 0)
            if not count:
                continue
            h = count / top * (plot_h - 8)
            y -= h
            parts.append(
                f'<rect class="{SERIES_CLASSES[s % len(SERIES_CLASSES)]}" x="{x:.1f}" '
                f'y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"><title>{escape(label)}: '
                f"{count} {escape(name)}</title></rect>"
            )
        if len(columns) <= 14 or i % math.ceil(len(columns) / 14) == 0:
            parts.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{plot_h + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for s, name in enumerate(series):
        lx = left + (s % 3) * ((width - left) / 3)
        ly = plot_h + bottom + 6 + 18 * (s // 3)
        parts.append(
            f'<rect class="{SERIES_CLASSES[s % len(SERIES_CLASSES)]}" x="{lx:.1f}" y="{ly}" '
            f'width="10" height="10"/><text class="legend" x="{lx + 14:.1f}" y="{ly + 9}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value in it went through escape)


def bars(title: str, items: Sequence[tuple[str, int, str]], *, width: int = 320) -> Markup:
    """Horizontal bars: (label, count, CSS class) each."""
    row = 22
    height = row * max(len(items), 1) + 4
    top = max([count for _, count, _ in items] + [1])
    label_w = 120
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, count, css) in enumerate(items):
        y = i * row + 2
        w = (width - label_w - 40) * count / top
        parts.append(
            f'<text class="legend" x="{label_w - 6}" y="{y + 14}" text-anchor="end">'
            f'{escape(label)}</text><rect class="{escape(css)}" x="{label_w}" y="{y + 3}" '
            f'width="{w:.1f}" height="{row - 8}"><title>{escape(label)}: {count}</title></rect>'
            f'<text class="legend" x="{label_w + w + 4:.1f}" y="{y + 14}">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value in it went through escape)


@dataclass(frozen=True)
class GraphNode:
    id: str
    label: str
    kind: str  # STIX type
    tlp_class: str


def radial_graph(
    centre: GraphNode,
    others: Sequence[GraphNode],
    edges: Sequence[tuple[str, str, str]],
    *,
    size: int = 560,
) -> Markup:
    """The centre object with its neighbours on a circle; each node links to its page."""
    shown = list(others[:40])
    radius = size / 2 - 90
    cx = cy = size / 2
    where = {centre.id: (cx, cy)}
    for i, node in enumerate(shown):
        angle = 2 * math.pi * i / max(len(shown), 1) - math.pi / 2
        where[node.id] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    parts = [
        f'<svg class="graph" viewBox="0 0 {size} {size}" role="img" '
        f'aria-label="relationships of {escape(centre.label)}">'
        f"<title>relationships of {escape(centre.label)}</title>"
    ]
    for source, target, label in edges:
        if source not in where or target not in where or source == target:
            continue
        (x1, y1), (x2, y2) = where[source], where[target]
        parts.append(
            f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}">'
            f"<title>{escape(label)}</title></line>"
            f'<text class="edge-label" x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2:.1f}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for node in [centre, *shown]:
        x, y = where[node.id]
        r = 16 if node is centre else 11
        text = node.label if len(node.label) <= 28 else node.label[:27] + "…"
        parts.append(
            f'<a href="/objects/{quote(node.id)}" class="node {escape(node.kind)}">'
            f'<circle class="{escape(node.tlp_class)}" cx="{x:.1f}" cy="{y:.1f}" r="{r}"/>'
            f'<text x="{x:.1f}" y="{y + r + 12:.1f}" text-anchor="middle">{escape(node.kind)}'
            f'</text><text class="node-name" x="{x:.1f}" y="{y + r + 24:.1f}" '
            f'text-anchor="middle">{escape(text)}</text><title>{escape(node.label)}</title></a>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value in it went through escape)
