"""The selected marker's time and signal, and the not-yet-stored manual edits.

A reviewer who moves a marker must see that the change is not in the record yet, so
the panel says it on every edit until storage offers a place for it.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.markers import MARKER_NAMES, MarkerEdit

NOT_STORED = ("Manual marker edits are NOT stored yet and do not change the measurements; "
              "they are kept on this screen only.")


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1e3:.2f} ms"


class MarkerPanel(Static):
    """Hidden until a marker is selected or an edit exists."""

    DEFAULT_CSS = """
    MarkerPanel { height: auto; max-height: 5; padding: 0 1; border-left: thick $warning; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self.display = False

    def show_marker(self, marker: str | None, t: float | None, automatic: float | None,
                    value_v: float | None, baseline_v: float | None,
                    edits: list[MarkerEdit]) -> None:
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
        if edits:
            if text:
                text.append("\n")
            last = edits[-1]
            text.append(f"{len(edits)} manual edit{'s' if len(edits) != 1 else ''} · last: "
                        f"{MARKER_NAMES[last.marker]} {_ms(last.previous_s)} → "
                        f"{_ms(last.new_s)}\n", style="yellow")
            text.append(NOT_STORED, style="bold yellow")
        self.update(text)
        self.display = bool(text)
