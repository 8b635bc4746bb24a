"""The red panel over an instrument-fault prompt: what failed and what each answer does.

The engine has already turned every output off when it asks; the operator chooses
whether the step runs again, is recorded as skipped with the fault as its reason, or the
run ends. The instrument's own one-line error (it names the role and resource) is shown
so the choice is made knowing what broke.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

CHOICES = (("retry", "runs the step again from its start (the link is reopened)"),
           ("skip", "records the step as skipped, with this fault as the reason"),
           ("abort", "ends the run now; cleanup steps do not run"))


def is_fault_prompt(prompt: Any) -> bool:
    return (prompt is not None and prompt.kind == "choice"
            and str(prompt.id).endswith(".fault"))


class FaultPanel(Static):
    """Hidden unless the engine is asking what to do after an instrument fault."""

    DEFAULT_CSS = """
    FaultPanel {
        height: auto; border: heavy $error; background: $error 15%; padding: 0 1;
        margin-bottom: 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self.display = False
        self.border_title = "⚠ INSTRUMENT FAULT · outputs are off"

    def show(self, error: str) -> None:
        text = Text()
        if error:
            text.append(error + "\n", style="bold")
        for name, meaning in CHOICES:
            text.append(f"{name}", style="bold")
            text.append(f" {meaning}\n")
        text.append("↑/↓ choose, Enter answers.", style="dim")
        self.update(text)
        self.display = True

    def hide(self) -> None:
        self.display = False
