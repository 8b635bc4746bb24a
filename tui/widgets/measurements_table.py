"""Measurements as they arrive, with the reference limits and a normal/abnormal flag."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

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

    @classmethod
    def from_any(cls, step: str, m: Any) -> MeasurementRow:
        get = m.get if isinstance(m, dict) else lambda key, default=None: getattr(m, key, default)
        return cls(step=step, site=get("site", "") or "", name=get("name", "") or "",
                   value=get("value"), unit=get("unit", "") or "", lower=get("lower"),
                   upper=get("upper"), outcome=get("outcome", "unflagged") or "unflagged")


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

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def add_measurements(self, step: str, measurements: Any) -> None:
        for m in measurements:
            row = MeasurementRow.from_any(step, m)
            value = Text(format_value(row.value), justify="right")
            if row.outcome == "abnormal":
                value.stylize("bold red")
                self.abnormal += 1
            self.add_row(row.site, row.name.replace("_", " "), value, row.unit,
                         format_limits(row.lower, row.upper), flag_text(row.outcome), row.step)
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def reset(self) -> None:
        self.clear()
        self.abnormal = 0
