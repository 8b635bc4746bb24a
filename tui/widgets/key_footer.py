"""The footer of key bindings, rebuilt only when the keys it shows actually change.

Textual's Footer recomposes (new widgets, styles applied) on every bindings refresh, and
screens refresh bindings on focus moves, marker selection and data arriving. Most of
those refreshes leave the visible keys as they were; skipping them keeps a sweep on
screen and a run opened within their targets (tests/tui/perf_tui.py).
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A Footer that compares what it would show with what it shows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)  # every key visible at 80 columns
        super().__init__(*args, **kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _visible_keys(self, screen: Screen[Any]) -> tuple[Any, ...]:
        palette = screen.app.COMMAND_PALETTE_BINDING
        return tuple((key, binding.action, binding.description, enabled, tooltip)
                     for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
                     if binding.show or key == palette)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            super().bindings_changed(screen)
            return
        keys = self._visible_keys(screen)
        if keys == self._shown:
            self._bindings_ready = True
            return
        self._shown = keys
        super().bindings_changed(screen)
