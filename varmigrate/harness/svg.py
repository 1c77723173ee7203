"""Inline SVG loss-curve overlay: before thick and pale, after thin and dark, a red line at
the first divergent event.  No JavaScript, no external assets."""

from __future__ import annotations

import math
from html import escape
from typing import Optional, Sequence

W, H, PAD = 560, 220, 40
LEFT = 64  # room for y labels such as 0.0114


def loss_overlay(before: Sequence[Sequence[float]], after: Sequence[Sequence[float]],
                 diverged_at: Optional[int] = None, title: str = "loss per event") -> str:
    pts = [p for p in [*before, *after] if math.isfinite(p[1])]
    if not pts:
        return ""
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    log = min(ys) > 0 and max(ys) / min(ys) > 100
    ty = (lambda v: math.log10(v)) if log else (lambda v: v)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(map(ty, ys)), max(map(ty, ys))
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * (W - LEFT - PAD)

    def sy(y: float) -> float:
        return H - PAD + (ty(y) - y0) / (y1 - y0) * (2 * PAD - H)

    def path(series: Sequence[Sequence[float]]) -> str:
        coords = [f"{sx(x):.1f},{sy(y):.1f}" for x, y in series if math.isfinite(y)]
        return " ".join(coords)

    scale = "log scale" if log else "linear scale"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>',
        f'<line x1="{LEFT}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{PAD}" x2="{LEFT}" y2="{H - PAD}" stroke="#999"/>',
        f'<text x="{LEFT}" y="{H - PAD + 16}" font-size="11">{x0:g}</text>',
        f'<text x="{W - PAD}" y="{H - PAD + 16}" font-size="11" text-anchor="end">{x1:g} (event)</text>',
        f'<text x="{LEFT - 4}" y="{PAD}" font-size="11" text-anchor="end">{max(ys):.3g}</text>',
        f'<text x="{LEFT - 4}" y="{H - PAD}" font-size="11" text-anchor="end">{min(ys):.3g}</text>',
        f'<text x="{W / 2}" y="16" font-size="12" text-anchor="middle">{escape(title)} ({scale})</text>',
    ]
    if diverged_at is not None and x0 <= diverged_at <= x1:
        parts.append(f'<line x1="{sx(diverged_at):.1f}" y1="{PAD}" x2="{sx(diverged_at):.1f}" '
                     f'y2="{H - PAD}" stroke="#d00" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{sx(diverged_at) + 4:.1f}" y="{PAD + 10}" font-size="11" '
                     f'fill="#d00">first divergence (event {diverged_at})</text>')
    if before:
        parts.append(f'<polyline fill="none" stroke="#7fb3e6" stroke-width="5" '
                     f'stroke-linejoin="round" points="{path(before)}"><title>before</title></polyline>')
    if after:
        parts.append(f'<polyline fill="none" stroke="#1a1a1a" stroke-width="1.5" '
                     f'points="{path(after)}"><title>after</title></polyline>')
    parts.append(f'<g font-size="11"><rect x="{W - PAD - 110}" y="{PAD - 14}" width="12" height="5" '
                 f'fill="#7fb3e6"/><text x="{W - PAD - 94}" y="{PAD - 9}">before</text>'
                 f'<rect x="{W - PAD - 50}" y="{PAD - 13}" width="12" height="2" fill="#1a1a1a"/>'
                 f'<text x="{W - PAD - 34}" y="{PAD - 9}">after</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)
