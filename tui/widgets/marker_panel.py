"""The selected marker's time and signal, moves not yet stored, and the last stored edit.

A reviewer who moves a marker must see whether the record already holds the change: a
moved marker is pending (yellow) until Enter stores it with a reason; stored edits and
their re-measured values are then part of the run and its audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui.markers import MARKER_NAMES


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1e3:.2f} ms"


@dataclass(frozen=True)
class PendingMove:
    """A marker moved on screen whose new place is not in the record yet."""

    marker: str
    stored_s: float | None
    new_s: float


class MarkerPanel(Static):
    """Hidden until a marker is selected, a move is pending or an edit was stored."""

    DEFAULT_CSS = """
    MarkerPanel { height: auto; max-height: 5; padding: 0 1; border-left: thick $warning; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self.display = False

    def show_marker(self, marker: str | None, t: float | None, automatic: float | None,
                    value_v: float | None, baseline_v: float | None,
                    pending: list[PendingMove], stored_note: str = "") -> None:
        text = Text()
        if marker is not None:
            text.append(f"{MARKER_NAMES[marker]} marker ", style="bold")
            text.append(_ms(t), style="bold")
            if automatic is None or t is None or abs(t - automatic) > 1e-12:
                text.append(f" (auto {_ms(automatic)})", style="dim")
            if value_v is not None:
                text.append(f" · signal {value_v * 1e3:.3f} mV")
                if baseline_v is not None:
                    text.append(f" · from baseline {(value_v - baseline_v) * 1e3:.3f} mV")
            text.append("  ←/→ 1 sample, shift 10, z auto", style="dim")
        if pending:
            if text:
                text.append("\n")
            moves = ", ".join(f"{MARKER_NAMES[p.marker]} {_ms(p.stored_s)} → {_ms(p.new_s)}"
                              for p in pending)
            text.append(f"Moved, NOT stored yet: {moves}. ", style="bold yellow")
            text.append("Enter stores it with a reason and re-measures.", style="yellow")
        elif stored_note:
            if text:
                text.append("\n")
            text.append(stored_note, style="green")
        self.update(text)
        self.display = bool(text)
