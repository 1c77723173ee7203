"""Inline SVG loss chart: both runs' loss per event on labelled axes with ticks and a grid.

Before is drawn thick and pale, after thin and dark over it (so equal curves read as one line
with a halo), with a dashed red line at the first divergent event.  A log scale is used when
the loss spans more than two decades.  No JavaScript, no external assets; the SVG scales with
the page (``viewBox``, ``width:100%``).
"""

from __future__ import annotations

import math
from html import escape
from typing import Callable, Optional, Sequence

W, H = 900, 360
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 40, 52  # margins: room for tick labels and axis titles


def nice_step(span: float, target: int = 6) -> float:
    """A 1-2-2.5-5 x 10^k step giving about ``target`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw * 0.999:
            return m * mag
    return 10 * mag


def linear_ticks(lo: float, hi: float, integer: bool = False) -> list[float]:
    step = nice_step(hi - lo)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(lo / step - 1e-9) * step
    ticks: list[float] = []
    v = first
    while v <= hi + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(v, 12))
        v += step
    return ticks


def tick_label(v: float, step: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if step * 10 ** decimals % 1:  # a 2.5-type step needs one digit more
        decimals += 1
    return f"{v:.{decimals}f}"


def _decade_label(k: int) -> str:
    return f"{10.0 ** k:g}" if -3 <= k <= 4 else f"1e{k}"


def loss_overlay(before: Sequence[Sequence[float]], after: Sequence[Sequence[float]],
                 diverged_at: Optional[int] = None, title: str = "loss per event") -> str:
    pts = [p for p in [*before, *after] if math.isfinite(p[1])]
    if not pts:
        return ""
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    log = min(ys) > 0 and max(ys) / min(ys) > 100
    ty: Callable[[float], float] = math.log10 if log else (lambda v: v)
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    y0, y1 = min(map(ty, ys)), max(map(ty, ys))
    if y1 == y0:
        pad = abs(y0) * 0.05 or 0.5
        y0, y1 = y0 - pad, y1 + pad
    else:
        pad = (y1 - y0) * 0.05
        y0, y1 = y0 - pad, y1 + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def sy_t(t: float) -> float:
        return TOP + (y1 - t) / (y1 - y0) * ph

    def path(series: Sequence[Sequence[float]]) -> str:
        return " ".join(f"{sx(x):.1f},{sy_t(ty(y)):.1f}" for x, y in series if math.isfinite(y))

    scale = "log scale" if log else "linear scale"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'style="max-width:100%;height:auto" role="img" aria-label="{escape(title)}" font-family="sans-serif">',
        f'<title>{escape(title)}</title>',
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>',
        f'<text x="{LEFT + pw / 2:.1f}" y="20" font-size="14" text-anchor="middle">{escape(title)} ({scale})</text>',
    ]
    grid, labels = [], []
    # y axis: ticks, grid lines, labels
    if log:
        ks = range(math.floor(y0), math.ceil(y1) + 1)
        yticks = [(float(k), _decade_label(k)) for k in ks if y0 <= k <= y1]
        if len(yticks) < 3:  # few decades: 2 and 5 in between too
            yticks = sorted(yticks + [(math.log10(m) + k, f"{m * 10.0 ** k:g}") for k in ks for m in (2, 5)
                                      if y0 <= math.log10(m) + k <= y1])
    else:
        step = nice_step(y1 - y0)
        yticks = [(v, tick_label(v, step)) for v in linear_ticks(y0, y1)]
    for t, text in yticks:
        y = sy_t(t)
        grid.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        labels.append(f'<line x1="{LEFT - 5}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" stroke="#555"/>'
                      f'<text x="{LEFT - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{text}</text>')
    # x axis: events are integers
    xstep = max(1.0, round(nice_step(x1 - x0)))
    for v in linear_ticks(x0, x1, integer=True):
        x = sx(v)
        grid.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#f0f0f0"/>')
        labels.append(f'<line x1="{x:.1f}" y1="{TOP + ph}" x2="{x:.1f}" y2="{TOP + ph + 5}" stroke="#555"/>'
                      f'<text x="{x:.1f}" y="{TOP + ph + 19}" font-size="12" text-anchor="middle">'
                      f'{tick_label(v, xstep)}</text>')
    parts += grid
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    parts += labels
    parts.append(f'<text x="{LEFT + pw / 2:.1f}" y="{H - 10}" font-size="13" text-anchor="middle">'
                 f'event (backward / optimizer step, in order)</text>')
    parts.append(f'<text transform="translate(18 {TOP + ph / 2:.1f}) rotate(-90)" font-size="13" '
                 f'text-anchor="middle">loss (first root of each event)</text>')
    if diverged_at is not None and x0 <= diverged_at <= x1:
        x = sx(diverged_at)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#d00" '
                     f'stroke-width="1.5" stroke-dasharray="5 4"/>')
        anchor, dx = ("end", -5) if x > LEFT + pw * 0.7 else ("start", 5)
        parts.append(f'<text x="{x + dx:.1f}" y="{TOP + 14}" font-size="12" fill="#d00" text-anchor="{anchor}">'
                     f'first divergence (event {diverged_at})</text>')
    if before:
        parts.append(f'<polyline fill="none" stroke="#7fb3e6" stroke-width="6" stroke-linejoin="round" '
                     f'stroke-linecap="round" points="{path(before)}"><title>before</title></polyline>')
    if after:
        parts.append(f'<polyline fill="none" stroke="#1a1a1a" stroke-width="1.6" stroke-linejoin="round" '
                     f'points="{path(after)}"><title>after</title></polyline>')
        if len(after) <= 60:
            parts += [f'<circle cx="{sx(x):.1f}" cy="{sy_t(ty(y)):.1f}" r="2.2" fill="#1a1a1a">'
                      f'<title>after, event {x:g}: {y:.6g}</title></circle>' for x, y in after if math.isfinite(y)]
    lx = LEFT + pw - 150
    parts.append(f'<g font-size="12"><rect x="{lx - 8}" y="{TOP + 6}" width="150" height="24" fill="#fff" '
                 f'fill-opacity="0.85" stroke="#ccc"/>'
                 f'<line x1="{lx}" y1="{TOP + 18}" x2="{lx + 22}" y2="{TOP + 18}" stroke="#7fb3e6" stroke-width="6"/>'
                 f'<text x="{lx + 28}" y="{TOP + 22}">before</text>'
                 f'<line x1="{lx + 76}" y1="{TOP + 18}" x2="{lx + 98}" y2="{TOP + 18}" stroke="#1a1a1a" '
                 f'stroke-width="1.6"/><text x="{lx + 104}" y="{TOP + 22}">after</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)
