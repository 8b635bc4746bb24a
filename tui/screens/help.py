"""Key help for the screen underneath, built from its live bindings so it never goes stale."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Shows what the screen is for and every key that works there."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,question_mark,q", "dismiss", "Close"),
    ]

    def __init__(self, title: str, about: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.help_title = title
        self.about = about
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, description in self.keys:
            table.add_row(key, description)
        with VerticalScroll(id="help-box"):
            yield Static(Text(self.help_title, style="bold"), id="help-title")
            yield Static(self.about, id="help-about")
            yield Static(table, id="help-keys")
            yield Static(Text("Esc closes this help", style="dim"))
