"""Live sweep plot: the braille renderer on Textual's line API.

Rendering happens lazily in `render_line`, once per (size, sweep, theme), so a burst of
sweeps costs one redraw per screen refresh rather than one per sweep. Negativity is drawn
upward, as on clinical EMG systems (see `tui.braille`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui.braille import PlotSpec, render_plot

_ROLE_CLASSES = {
    "trace": "trace-plot--trace",
    "onset": "trace-plot--onset",
    "peak": "trace-plot--peak",
    "selected": "trace-plot--selected",
    "baseline": "trace-plot--baseline",
    "axis": "trace-plot--axis",
    "label": "trace-plot--label",
    "empty": "trace-plot--empty",
}


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


class TracePlot(Widget):
    """Plots one sweep with onset, negative-peak and baseline markers."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(_ROLE_CLASSES.values())

    DEFAULT_CSS = """
    TracePlot { height: 1fr; min-height: 6; }
    TracePlot > .trace-plot--trace { color: $text; text-style: bold; }
    TracePlot > .trace-plot--onset { color: $success; }
    TracePlot > .trace-plot--peak { color: $error; }
    TracePlot > .trace-plot--selected { color: $warning; text-style: bold reverse; }
    TracePlot > .trace-plot--baseline { color: $text-muted; }
    TracePlot > .trace-plot--axis { color: $text-muted; }
    TracePlot > .trace-plot--label { color: $text-muted; }
    TracePlot > .trace-plot--empty { color: $text-disabled; text-style: italic; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._spec: PlotSpec | None = None
        self._cache_key: tuple[int, int, int] | None = None
        self._strips: list[Strip] = []
        self._version = 0

    @property
    def spec(self) -> PlotSpec | None:
        return self._spec

    def show_sweep(self, volts: np.ndarray, sample_rate: float, t0: float,
                   measures: dict[str, Any] | None = None,
                   y_range: tuple[float, float] | None = None) -> None:
        """Plot a sweep (volts, SI) with markers from rustcore's measures dict (SI).

        A fixed y_range lets two plots side by side share one amplitude scale."""
        measures = measures or {}
        self._spec = PlotSpec(
            volts=np.asarray(volts, dtype=np.float64),
            sample_rate=float(sample_rate),
            t0=float(t0),
            onset=_finite(measures.get("onset")),
            peak=_finite(measures.get("neg_peak_latency")),
            baseline=_finite(measures.get("baseline")),
            y_range=y_range,
        )
        self._invalidate()

    def set_markers(self, onset: float | None, peak: float | None,
                    selected: str | None = None) -> None:
        """Move the markers (seconds) without touching the sweep: manual review."""
        if self._spec is None:
            return
        self._spec = replace(self._spec, onset=onset, peak=peak, selected=selected)
        self._invalidate()

    def clear(self) -> None:
        self._spec = None
        self._invalidate()

    def _invalidate(self) -> None:
        self._version += 1
        self.refresh()

    def notify_style_update(self) -> None:
        """A theme change restyles every role, so the cached strips are stale."""
        super().notify_style_update()
        self._cache_key = None

    def _role_styles(self) -> dict[str, Style]:
        base = self.rich_style
        styles = {role: base + self.get_component_rich_style(cls, partial=True)
                  for role, cls in _ROLE_CLASSES.items()}
        styles["blank"] = base
        return styles

    def _build(self, width: int, height: int) -> list[Strip]:
        styles = self._role_styles()
        strips = []
        for row in render_plot(self._spec, width, height):
            strips.append(Strip([Segment(text, styles[role]) for text, role in row], width))
        return strips

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (width, height, self._version)
        if key != self._cache_key:
            self._strips = self._build(width, height)
            self._cache_key = key
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)
