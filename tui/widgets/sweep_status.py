"""One line over the plot: which sweep this is, at what current, and what it measured.

The operator steers the supramaximal search by watching the current climb and the
amplitude level off, so both sit where the eye already is, above the trace.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from tui.measures import compact_summary
from tui.widgets.step_list import progress_bar


class SweepStatus(Static):
    """Live sweep line; says 'committed' once the step's flagged values are in the table."""

    DEFAULT_CSS = "SweepStatus { height: 1; padding: 0 1; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self.sweeps = 0  # sweeps shown in the current step attempt
        self.current_mA: float | None = None

    def step_started(self) -> None:
        self.sweeps = 0
        self.current_mA = None
        self.update(Text("waiting for the first sweep…", style="dim"))

    def show_sweep(self, current_mA: float, measures: dict[str, Any],
                   series: tuple[str, int, int] | None = None) -> None:
        """series: (label, n, total) while a series runs ("F-waves", 7, 20)."""
        self.sweeps += 1
        self.current_mA = current_mA
        # Site, role, sweep number and current are in the plot's title right below.
        if series is not None:
            label, n, total = series
            text = Text.assemble((f"{label} ", "bold"),
                                 (progress_bar(n, total, width=8), "bold cyan"),
                                 f" {current_mA:.1f} mA ", (compact_summary(measures), "italic"))
        else:
            text = Text.assemble((f"#{self.sweeps} {current_mA:.1f} mA ", "bold"),
                                 (compact_summary(measures), "italic"),
                                 (" provisional", "dim"))
        self.update(text)

    def committed(self, title: str, count: int) -> None:
        if count:
            self.update(Text(f"{title}: {count} values committed and flagged", style="dim"))
