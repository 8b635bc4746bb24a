"""Asking why before an edit enters the record: a one-line reason, never empty."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ReasonScreen(ModalScreen[str | None]):
    """Dismisses with the typed reason on Enter, or None on Escape."""

    DEFAULT_CSS = """
    ReasonScreen { align: center middle; }
    #reason-box { width: 70; max-width: 95%; height: auto; border: thick $warning;
                  background: $surface; padding: 0 1; }
    #reason-error { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, placeholder: str = "reason") -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box"):
            yield Static(self.question, id="reason-question")
            yield Input(placeholder=self.placeholder, id="reason-input", max_length=200)
            yield Static("", id="reason-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if not reason:
            self.query_one("#reason-error", Static).update(
                "A reason is required: it is stored with the edit in the audit log.")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
