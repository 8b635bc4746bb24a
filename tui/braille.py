"""A NumPy braille renderer for sweeps: pure data in, rows of (text, role) out.

It lives apart from the widget so it can be tested and timed without a terminal, and
so the widget only maps roles to theme styles. Like clinical EMG systems it draws
negativity upward (a negative-first CMAP rises first); tick labels keep the true signed
values and the legend says "neg↑" so nobody reads the axis the other way round.
Each terminal cell holds a 2×4 braille dot block; the trace is reduced to min/max per
dot column so a 20 000-sample sweep costs the same to draw as a 400-sample one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Layers in priority order: where layers share a cell the first one named here sets the
# colour (the trace must stay readable where a marker crosses it).
EMPTY, TRACE, ONSET, PEAK, BASELINE = 0, 1, 2, 3, 4
LAYER_ROLES = {EMPTY: "blank", TRACE: "trace", ONSET: "onset", PEAK: "peak",
               BASELINE: "baseline"}

# Braille dot bit for (dot row 0..3, dot column 0..1) inside one cell (Unicode order).
_DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint32)

Segment = tuple[str, str]  # (text, role)


@dataclass(frozen=True)
class Frame:
    """Braille cells for a plot area: code points and the layer that owns each cell."""

    codes: np.ndarray  # (rows, cols) uint32, space where no dot is lit
    layers: np.ndarray  # (rows, cols) uint8, one of the layer constants

    def row_text(self, y: int) -> str:
        return self.codes[y].astype("<u4").tobytes().decode("utf-32-le")

    def row_segments(self, y: int) -> list[Segment]:
        """Runs of one role along row y, ready to become styled segments."""
        text = self.row_text(y)
        layer_row = self.layers[y]
        cuts = np.flatnonzero(np.diff(layer_row)) + 1
        starts = [0, *cuts.tolist()]
        ends = [*cuts.tolist(), len(text)]
        return [(text[a:b], LAYER_ROLES[int(layer_row[a])])
                for a, b in zip(starts, ends, strict=True)]


def _encode(dots: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(rows*4, cols*2) booleans → (rows, cols) braille bit masks."""
    blocks = dots.reshape(rows, 4, cols, 2).astype(np.uint32)
    return np.einsum("rycx,yx->rc", blocks, _DOT_BITS)


def trace_dots(
    volts: np.ndarray,
    sample_rate: float,
    t0: float,
    dot_cols: int,
    dot_rows: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> np.ndarray:
    """Light the dots a sweep passes through, as a (dot_rows, dot_cols) boolean grid.

    Per dot column the lit span covers the samples' min..max and the interpolated values
    at both column edges, so neighbouring columns overlap and the line has no gaps even
    when there are fewer samples than columns.
    """
    grid = np.zeros((dot_rows, dot_cols), dtype=bool)
    n = int(volts.shape[0])
    if n == 0 or dot_cols <= 0 or dot_rows <= 0:
        return grid
    x_lo, x_hi = x_range
    y_lo, y_hi = y_range
    x_span = x_hi - x_lo
    y_span = y_hi - y_lo
    if x_span <= 0 or y_span <= 0:
        return grid
    v = np.asarray(volts, dtype=np.float64)
    t = t0 + np.arange(n, dtype=np.float64) / sample_rate
    t_first, t_last = t[0], t[-1]

    # Value at each column edge (dot_cols + 1 edges) by linear interpolation.
    edges_t = x_lo + np.arange(dot_cols + 1, dtype=np.float64) * (x_span / dot_cols)
    edge_v = np.interp(edges_t, t, v)
    lo = np.minimum(edge_v[:-1], edge_v[1:])
    hi = np.maximum(edge_v[:-1], edge_v[1:])

    # Min/max of the samples inside each column (samples are in time order).
    col = np.floor((t - x_lo) * (dot_cols / x_span)).astype(np.int64)
    inside = (col >= 0) & (col < dot_cols)
    if inside.any():
        c = col[inside]
        vi = v[inside]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(c)) + 1))
        cols_hit = c[starts]
        lo[cols_hit] = np.minimum(lo[cols_hit], np.minimum.reduceat(vi, starts))
        hi[cols_hit] = np.maximum(hi[cols_hit], np.maximum.reduceat(vi, starts))

    # Columns wholly before or after the data stay dark.
    col_start = edges_t[:-1]
    col_end = edges_t[1:]
    has_data = (col_end >= t_first) & (col_start <= t_last)
    visible = has_data & (hi >= y_lo) & (lo <= y_hi)  # NaN compares False: stays dark
    hi = np.where(visible, hi, y_hi)
    lo = np.where(visible, lo, y_hi)

    scale = (dot_rows - 1) / y_span
    top = np.clip(np.rint((y_hi - hi) * scale), 0, dot_rows - 1).astype(np.int64)
    bottom = np.clip(np.rint((y_hi - lo) * scale), 0, dot_rows - 1).astype(np.int64)
    rows = np.arange(dot_rows)[:, None]
    grid[:] = (rows >= top[None, :]) & (rows <= bottom[None, :]) & visible[None, :]
    return grid


def time_to_dot_col(t: float, dot_cols: int, x_range: tuple[float, float]) -> int | None:
    """The dot column holding time t, or None when it is off the plot."""
    x_lo, x_hi = x_range
    if not math.isfinite(t) or x_hi <= x_lo:
        return None
    col = math.floor((t - x_lo) * dot_cols / (x_hi - x_lo))
    if col == dot_cols and t <= x_hi:
        col = dot_cols - 1  # the right edge belongs to the last column
    return col if 0 <= col < dot_cols else None


def value_to_dot_row(v: float, dot_rows: int, y_range: tuple[float, float]) -> int | None:
    """The dot row holding value v (row 0 at the top), or None when it is off the plot."""
    y_lo, y_hi = y_range
    if not math.isfinite(v) or y_hi <= y_lo or v < y_lo or v > y_hi:
        return None
    return int(np.clip(round((y_hi - v) * (dot_rows - 1) / (y_hi - y_lo)), 0, dot_rows - 1))


def render_frame(
    volts: np.ndarray,
    sample_rate: float,
    t0: float,
    cols: int,
    rows: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    *,
    onset: float | None = None,
    peak: float | None = None,
    baseline: float | None = None,
) -> Frame:
    """Draw trace, onset and peak markers (vertical) and baseline (horizontal) in cells."""
    dot_rows, dot_cols = rows * 4, cols * 2
    layers: dict[int, np.ndarray] = {
        TRACE: trace_dots(volts, sample_rate, t0, dot_cols, dot_rows, x_range, y_range)
    }
    if onset is not None and (c := time_to_dot_col(onset, dot_cols, x_range)) is not None:
        grid = np.zeros((dot_rows, dot_cols), dtype=bool)
        grid[:, c] = True  # solid line
        layers[ONSET] = grid
    if peak is not None and (c := time_to_dot_col(peak, dot_cols, x_range)) is not None:
        grid = np.zeros((dot_rows, dot_cols), dtype=bool)
        grid[::2, c] = True  # dotted, so it differs from onset without colour
        layers[PEAK] = grid
    if baseline is not None and (r := value_to_dot_row(baseline, dot_rows, y_range)) is not None:
        grid = np.zeros((dot_rows, dot_cols), dtype=bool)
        grid[r, ::2] = True
        layers[BASELINE] = grid

    bits = {layer: _encode(grid, rows, cols) for layer, grid in layers.items()}
    codes = np.zeros((rows, cols), dtype=np.uint32)
    for layer_bits in bits.values():
        codes |= layer_bits
    owner = np.zeros((rows, cols), dtype=np.uint8)
    for layer in (BASELINE, PEAK, ONSET, TRACE):  # lowest priority first, overwritten later
        if layer in bits:
            owner[bits[layer] > 0] = layer
    codes = np.where(codes > 0, codes + 0x2800, 0x20).astype(np.uint32)
    return Frame(codes=codes, layers=owner)


def nice_step(span: float, max_ticks: int) -> float:
    """A 1-2-5 step that puts at most max_ticks ticks across span."""
    if span <= 0 or max_ticks < 1:
        return 1.0
    raw = span / max_ticks
    mag = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if mult * mag >= raw:
            return mult * mag
    return 10 * mag


def nice_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Round tick values inside [lo, hi]."""
    if hi <= lo:
        return [lo]
    step = nice_step(hi - lo, max_ticks)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while (value := first + k * step) <= hi + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        k += 1
    return ticks


def format_tick(value: float, step: float) -> str:
    """Enough decimals to tell neighbouring ticks apart, no more."""
    decimals = 0
    while decimals < 6 and not math.isclose(step * 10**decimals, round(step * 10**decimals),
                                             rel_tol=1e-9, abs_tol=1e-9):
        decimals += 1
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def amplitude_unit(span_volts: float) -> tuple[str, float]:
    """mV for motor responses, µV for small sensory ones."""
    return ("µV", 1e6) if span_volts < 2e-3 else ("mV", 1e3)


def auto_y_range(volts: np.ndarray, baseline: float | None = None) -> tuple[float, float]:
    """Data range plus 8 % headroom; never empty."""
    finite = volts[np.isfinite(volts)] if volts.size else volts
    if finite.size == 0:
        return (-1e-3, 1e-3)
    lo = float(np.min(finite))
    hi = float(np.max(finite))
    if baseline is not None and math.isfinite(baseline):
        lo, hi = min(lo, baseline), max(hi, baseline)
    span = hi - lo
    if span <= 0:
        pad = max(abs(lo) * 0.1, 1e-5)
        return (lo - pad, hi + pad)
    return (lo - span * 0.08, hi + span * 0.08)


@dataclass(frozen=True)
class PlotSpec:
    """Everything the plot needs to draw one sweep (times in seconds, values in volts)."""

    volts: np.ndarray
    sample_rate: float
    t0: float
    onset: float | None = None
    peak: float | None = None
    baseline: float | None = None
    y_range: tuple[float, float] | None = None
    negative_up: bool = True  # the clinical convention; False only for engineering views
    selected: str | None = None  # "onset" or "peak": the marker being moved by keys

    @property
    def x_range(self) -> tuple[float, float]:
        n = int(self.volts.shape[0])
        end = self.t0 + max(n - 1, 1) / self.sample_rate
        return (self.t0, end)


def _fmt_ms(seconds: float | None) -> str:
    return "–" if seconds is None or not math.isfinite(seconds) else f"{seconds * 1e3:.2f} ms"


def render_plot(spec: PlotSpec | None, width: int, height: int) -> list[list[Segment]]:
    """The whole widget as rows of (text, role): legend, y axis, braille area, x axis.

    Roles: axis, label, onset, peak, selected, baseline, trace, blank, empty.
    """
    if width <= 0 or height <= 0:
        return []
    if spec is None or spec.volts.size == 0:
        lines: list[list[Segment]] = [[(" " * width, "blank")] for _ in range(height)]
        message = "no sweep yet"
        if height > 0 and width >= len(message):
            pad = (width - len(message)) // 2
            lines[height // 2] = [(" " * pad + message + " " * (width - pad - len(message)),
                                   "empty")]
        return lines

    y_range = spec.y_range or auto_y_range(spec.volts, spec.baseline)
    unit, factor = amplitude_unit(y_range[1] - y_range[0])
    x_range = spec.x_range
    # Draw in display space: negated when negativity is up, so every helper below keeps
    # its simple "larger value, higher row" rule. Labels are negated back to true values.
    sign = -1.0 if spec.negative_up else 1.0
    volts = spec.volts * sign if spec.negative_up else spec.volts
    baseline = None if spec.baseline is None else spec.baseline * sign
    if spec.negative_up:
        y_range = (-y_range[1], -y_range[0])

    show_legend = height >= 6
    show_x_labels = height >= 4
    plot_rows = height - (1 if show_legend else 0) - (2 if show_x_labels else 0)
    if plot_rows < 1:
        plot_rows, show_legend, show_x_labels = height, False, False

    y_lo_u, y_hi_u = y_range[0] * factor, y_range[1] * factor
    y_ticks = nice_ticks(y_lo_u, y_hi_u, max(2, min(6, plot_rows // 2)))
    y_step = nice_step(y_hi_u - y_lo_u, max(2, min(6, plot_rows // 2)))
    y_labels = [format_tick(v * sign, y_step) for v in y_ticks]
    gutter = max(4, *(len(s) for s in y_labels)) + 2  # label, space, axis char
    plot_cols = max(1, width - gutter - 1)

    frame = render_frame(volts, spec.sample_rate, spec.t0, plot_cols, plot_rows,
                         x_range, y_range, onset=spec.onset, peak=spec.peak,
                         baseline=baseline)

    # Which cell row carries each y tick.
    tick_rows: dict[int, str] = {}
    for value, label in zip(y_ticks, y_labels, strict=True):
        dot_row = value_to_dot_row(value / factor, plot_rows * 4, y_range)
        if dot_row is not None:
            tick_rows.setdefault(dot_row // 4, label)

    out: list[list[Segment]] = []
    if show_legend:
        head = f"{unit} neg↑" if spec.negative_up else unit
        legend: list[Segment] = [(head.rjust(gutter - 2) + "  ", "label")]
        for key, mark, name, at in (("onset", "│", "onset", spec.onset),
                                    ("peak", "┆", "neg peak", spec.peak)):
            role = "selected" if spec.selected == key else key
            legend += [(f"{mark}{name} ", role), (_fmt_ms(at) + "  ", "label")]
        if spec.baseline is not None and math.isfinite(spec.baseline):
            legend += [("┄baseline ", "baseline"),
                       (f"{spec.baseline * factor:.{max(0, 2 - int(factor == 1e6))}f} {unit}",
                        "label")]
        out.append(_fit(legend, width))

    for y in range(plot_rows):
        label = tick_rows.get(y)
        if label is None:
            row: list[Segment] = [(" " * (gutter - 1) + "│", "axis")]
        else:
            row = [(label.rjust(gutter - 2) + " ", "label"), ("┤", "axis")]
        row += frame.row_segments(y)
        out.append(_fit(row, width))

    if show_x_labels:
        x_ms = (x_range[0] * 1e3, x_range[1] * 1e3)
        max_x_ticks = max(3, plot_cols // 8)
        x_step = nice_step(x_ms[1] - x_ms[0], max_x_ticks)
        axis = ["─"] * plot_cols
        labels = [" "] * (plot_cols + gutter + 4)
        for value in nice_ticks(x_ms[0], x_ms[1], max_x_ticks):
            dot_col = time_to_dot_col(value / 1e3, plot_cols * 2, x_range)
            if dot_col is None:
                continue
            cell = dot_col // 2
            axis[cell] = "┬"
            text = format_tick(value, x_step)
            start = gutter + cell - len(text) // 2
            fits = start >= 0 and start + len(text) <= width - 3  # keep room for " ms"
            if fits and all(c == " " for c in labels[max(0, start - 1):start + len(text) + 1]):
                labels[start:start + len(text)] = list(text)
        out.append(_fit([(" " * (gutter - 1) + "└" + "".join(axis), "axis")], width))
        label_text = "".join(labels)[:width].rstrip()
        unit_text = " ms"
        label_text = label_text[: max(0, width - len(unit_text))]
        out.append(_fit([(label_text.ljust(width - len(unit_text)), "label"),
                         (unit_text, "label")], width))
    return out[:height]


def _fit(segments: Sequence[Segment], width: int) -> list[Segment]:
    """Crop or pad a row of segments to exactly width cells (all our glyphs are 1 cell)."""
    fitted: list[Segment] = []
    used = 0
    for text, role in segments:
        if used >= width:
            break
        text = text[: width - used]
        fitted.append((text, role))
        used += len(text)
    if used < width:
        fitted.append((" " * (width - used), "blank"))
    return fitted
