"""Measurements as they arrive, with the reference limits and a normal/abnormal flag.

Provisional rows (the latest sweep's raw measures, before accept) sit at the bottom in
italics with no limits and no flag; the step's committed, flagged rows replace them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tui.measures import ProvisionalValue

EDITED_MARK = "*"  # the value was re-measured after an operator moved a marker
COLUMNS = ("Site", "Measure", "Value", "Unit", "Limits", "Flag", "Step")


@dataclass(frozen=True)
class MeasurementRow:
    """One row, from an engine `Measurement` or a stored measurement dict alike."""

    step: str
    site: str
    name: str
    value: float | None
    unit: str
    lower: float | None
    upper: float | None
    outcome: str
    revised: bool = False  # re-measured after an operator's marker edit

    @classmethod
    def from_any(cls, step: str, m: Any) -> MeasurementRow:
        get = m.get if isinstance(m, dict) else lambda key, default=None: getattr(m, key, default)
        return cls(step=step, site=get("site", "") or "", name=get("name", "") or "",
                   value=get("value"), unit=get("unit", "") or "", lower=get("lower"),
                   upper=get("upper"), outcome=get("outcome", "unflagged") or "unflagged",
                   revised=bool(get("revised", False)))


def format_value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_limits(lower: float | None, upper: float | None) -> str:
    if lower is not None and upper is not None:
        return f"{format_value(lower)}–{format_value(upper)}"
    if lower is not None:
        return f"≥ {format_value(lower)}"
    if upper is not None:
        return f"≤ {format_value(upper)}"
    return ""


def flag_text(outcome: str) -> Text:
    if outcome == "provisional":
        return Text("provisional", style="italic dim")
    if outcome == "abnormal":
        return Text("ABNORMAL", style="bold red")
    if outcome == "normal":
        return Text("normal", style="green")
    return Text("–", style="dim")


class MeasurementsTable(DataTable):
    """Grows row by row; abnormal values are red so they stand out on a quick scan."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.abnormal = 0
        self._provisional: list[Any] = []  # row keys of the live sweep's rows
        self._serial = 0

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    @property
    def provisional_count(self) -> int:
        return len(self._provisional)

    def show_provisional(self, step: str, site: str, values: list[ProvisionalValue]) -> None:
        """Replace the previous sweep's provisional rows with this sweep's."""
        self.clear_provisional()
        for v in values:
            self._serial += 1
            key = self.add_row(site, v.name, Text(format_value(v.value), style="italic",
                                                  justify="right"),
                               v.unit, "", flag_text("provisional"), step,
                               key=f"provisional-{self._serial}")
            self._provisional.append(key)
        if self.row_count:
            # Scroll to the end, then put the cursor on the first live row: the eye lands on
            # onset and latency without hiding the rows below.
            self.move_cursor(row=self.row_count - 1, animate=False)
            self.move_cursor(row=self.row_count - len(values), animate=False, scroll=False)

    def clear_provisional(self) -> None:
        for key in self._provisional:
            self.remove_row(key)
        self._provisional = []

    def add_measurements(self, step: str, measurements: Any) -> None:
        """Committed rows: they replace any provisional ones."""
        self.clear_provisional()
        for m in measurements:
            row = MeasurementRow.from_any(step, m)
            value = Text(format_value(row.value), justify="right")
            flag = flag_text(row.outcome)
            if row.revised:
                value.append(EDITED_MARK, style="bold yellow")
                flag.append(" edited", style="yellow")
            if row.outcome == "abnormal":
                value.stylize("bold red", 0, len(format_value(row.value)))
                self.abnormal += 1
            self.add_row(row.site, row.name.replace("_", " "), value, row.unit,
                         format_limits(row.lower, row.upper), flag, row.step)
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def reset(self) -> None:
        self.clear()
        self.abnormal = 0
        self._provisional = []
