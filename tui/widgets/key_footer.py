"""The footer of key bindings, rebuilt only when the keys it shows actually change.

Textual's Footer recomposes (new widgets, styles applied) on every bindings refresh, and
screens refresh bindings on focus moves, marker selection and data arriving. Most of
those refreshes leave the visible keys as they were, or only dim or undim some of them;
skipping the rebuild then keeps a sweep on screen and a run opened within their targets
(tests/tui/perf_tui.py).
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A Footer that compares what it would show with what it shows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)  # every key visible at 80 columns
        super().__init__(*args, **kwargs)
        self._layout: tuple[Any, ...] | None = None
        self._enabled: dict[str, bool] = {}

    def _visible_keys(self, screen: Screen[Any]) -> list[tuple[str, Any, bool]]:
        palette = screen.app.COMMAND_PALETTE_BINDING
        return [(key, binding, enabled)
                for key, (_, binding, enabled, _tip) in screen.active_bindings.items()
                if binding.show or key == palette]

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            super().bindings_changed(screen)
            return
        keys = self._visible_keys(screen)
        layout = tuple((key, b.action, b.description, b.tooltip) for key, b, _ in keys)
        enabled = {b.action: bool(on) for _, b, on in keys}
        if layout == self._layout:
            self._bindings_ready = True
            if enabled != self._enabled:
                self._enabled = enabled
                for footer_key in self.query(FooterKey):  # dim or undim in place
                    disabled = not enabled.get(footer_key.action, True)
                    if footer_key._disabled != disabled:
                        footer_key._disabled = disabled
                        footer_key.set_class(disabled, "-disabled")
                        footer_key.refresh()
            return
        self._layout, self._enabled = layout, enabled
        super().bindings_changed(screen)
