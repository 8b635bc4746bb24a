"""Trace pictures from the stored samples: inline SVG for HTML, braille for Markdown.

Clinical EMG convention: negative is plotted upward, time runs from the stimulus (t = 0).
Long sweeps are reduced to a min/max pair per pixel column so every peak stays visible
while the file stays small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

from storage.queries import StoredTrace


@dataclass(frozen=True)
class Marker:
    label: str
    t_ms: float


@dataclass(frozen=True)
class TraceView:
    """A trace in display units: time in ms, values in mV or µV chosen from its size."""

    t_ms: np.ndarray
    values: np.ndarray
    unit: str
    markers: tuple[Marker, ...]


def trace_view(trace: StoredTrace) -> TraceView:
    volts = trace.volts()
    peak = float(np.nanmax(np.abs(volts))) if volts.size else 0.0
    factor, unit = (1e3, "mV") if peak >= 1e-3 else (1e6, "µV")
    t_ms = (trace.t0 + np.arange(volts.size) / trace.sample_rate) * 1e3
    markers = [Marker("stimulus", 0.0)]
    for key, name in (("onset", "onset"), ("neg_peak_latency", "negative peak")):
        value = trace.measures.get(key)
        if isinstance(value, int | float) and math.isfinite(value):
            markers.append(Marker(name, float(value) * 1e3))
    return TraceView(t_ms=t_ms, values=volts * factor, unit=unit, markers=tuple(markers))


def minmax_columns(values: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output column, the min and max of the samples falling in it."""
    edges = np.linspace(0, values.size, columns + 1).astype(int)
    lows = np.empty(columns)
    highs = np.empty(columns)
    for i in range(columns):
        chunk = values[edges[i]:max(edges[i + 1], edges[i] + 1)]
        lows[i], highs[i] = float(np.nanmin(chunk)), float(np.nanmax(chunk))
    return lows, highs


def nice_step(span: float, target: int = 6) -> float:
    """A 1/2/5 × 10^n tick step giving about `target` ticks over `span`."""
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _value_range(values: np.ndarray) -> tuple[float, float]:
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    pad = (high - low) * 0.08
    return low - pad, high + pad


def render_svg(trace: StoredTrace, title: str, *, width: int = 640, height: int = 220) -> str:
    """A self-contained <svg> element (no scripts, no external references)."""
    view = trace_view(trace)
    left, right, top, bottom = 56, 12, 34, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    t_lo, t_hi = float(view.t_ms[0]), float(view.t_ms[-1])
    v_lo, v_hi = _value_range(view.values)

    def x(t: float) -> float:
        return left + (t - t_lo) / (t_hi - t_lo) * plot_w

    def y(v: float) -> float:  # negative up: the most negative value is at the top
        return top + (v - v_lo) / (v_hi - v_lo) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trace" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'data-trace-id="{trace.id}">',
             f"<title>{escape(title)}</title>",
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
             'fill="#fff" stroke="#bbb"/>']
    step = nice_step(t_hi - t_lo)
    tick = math.ceil(t_lo / step) * step
    while tick <= t_hi + 1e-9:
        px = x(tick)
        parts.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{top + plot_h}" '
                     'stroke="#eee"/>')
        parts.append(f'<text x="{px:.1f}" y="{height - 12}" font-size="10" '
                     f'text-anchor="middle">{tick:g}</text>')
        tick += step
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 1}" font-size="10" '
                 'text-anchor="middle">ms</text>')
    vstep = nice_step(v_hi - v_lo, 4)
    tick = math.ceil(v_lo / vstep) * vstep
    while tick <= v_hi + 1e-12:
        py = y(tick)
        parts.append(f'<line x1="{left}" y1="{py:.1f}" x2="{left + plot_w}" y2="{py:.1f}" '
                     f'stroke="{"#ccc" if abs(tick) < 1e-12 else "#eee"}"/>')
        parts.append(f'<text x="{left - 4}" y="{py + 3:.1f}" font-size="10" '
                     f'text-anchor="end">{tick:g}</text>')
        tick += vstep
    parts.append(f'<text x="4" y="{top - 18}" font-size="10">{escape(view.unit)} '
                 '(negative up)</text>')
    parts.append(f'<polyline class="signal" fill="none" stroke="#1f4e9a" stroke-width="1.2" '
                 f'points="{_points(view, x, y, plot_w)}"/>')
    colours = {"stimulus": "#888", "onset": "#2a7d2a", "negative peak": "#c0392b"}
    for marker in view.markers:
        if not t_lo <= marker.t_ms <= t_hi:
            continue
        px = x(marker.t_ms)
        colour = colours.get(marker.label, "#555")
        parts.append(f'<line class="marker" data-marker="{escape(marker.label)}" '
                     f'x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{top + plot_h}" '
                     f'stroke="{colour}" stroke-dasharray="3 2"/>')
        label_y = top - 18 if marker.label == "onset" else top - 5  # two rows: no overlap
        parts.append(f'<text x="{px + 3:.1f}" y="{label_y}" font-size="10" fill="{colour}">'
                     f"{escape(marker.label)} {marker.t_ms:.2f}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def _points(view: TraceView, x: object, y: object, columns: int) -> str:
    assert callable(x) and callable(y)
    if view.values.size <= 2 * columns:
        pairs = zip(view.t_ms, view.values, strict=True)
        return " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pairs)
    lows, highs = minmax_columns(view.values, columns)
    times = np.linspace(view.t_ms[0], view.t_ms[-1], columns)
    out = []
    for t, lo, hi in zip(times, lows, highs, strict=True):
        out.append(f"{x(t):.1f},{y(lo):.1f} {x(t):.1f},{y(hi):.1f}")
    return " ".join(out)


BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def render_braille(trace: StoredTrace, *, width: int = 60, rows: int = 4) -> list[str]:
    """Lines of braille cells (2×4 dots each) drawing the trace, negative up."""
    view = trace_view(trace)
    dot_cols, dot_rows = width * 2, rows * 4
    lows, highs = minmax_columns(view.values, dot_cols)
    v_lo, v_hi = _value_range(view.values)
    cells = [[0] * width for _ in range(rows)]

    def dot_row(v: float) -> int:
        return min(dot_rows - 1, max(0, round((v - v_lo) / (v_hi - v_lo) * (dot_rows - 1))))

    previous: int | None = None
    for col in range(dot_cols):
        a, b = dot_row(lows[col]), dot_row(highs[col])
        lo, hi = min(a, b), max(a, b)
        if previous is not None:  # join to the previous column so steep edges stay drawn
            lo, hi = min(lo, previous), max(hi, previous)
        for r in range(lo, hi + 1):
            cells[r // 4][col // 2] |= BRAILLE_BITS[r % 4][col % 2]
        previous = dot_row((lows[col] + highs[col]) / 2)
    return ["".join(chr(0x2800 + bits) for bits in line) for line in cells]
