"""The red panel over a safety-gate override prompt.

An override runs a step the checklist says is contraindicated. The default (Enter on an
empty field) skips the step; the panel says so, and says that typing OVERRIDE with a
reason runs it and is audited, and shows live which of the two the typed text will do.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

EXPLANATION = ("Enter on an empty field SKIPS this step (the safe default). Typing OVERRIDE "
               "followed by the clinical reason RUNS the contraindicated step anyway; the "
               "override, the rules it bypasses, your reason and this terminal are recorded "
               "in the run's audit log.")


def is_override_prompt(prompt: Any) -> bool:
    return prompt is not None and prompt.kind == "text" and str(prompt.id).endswith(".override")


def verdict(typed: str) -> tuple[bool, str]:
    """What the engine will make of the typed text (engine.safety.is_override decides)."""
    from engine.safety import is_override

    return is_override(typed)


class OverrideWarning(Static):
    """Hidden unless a gate override is being asked."""

    DEFAULT_CSS = """
    OverrideWarning {
        height: auto; border: heavy $error; background: $error 15%; padding: 0 1;
        margin-bottom: 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.display = False
        self.border_title = "⚠ CONTRAINDICATED STEP"

    def show(self, typed: str = "") -> None:
        self.display = True
        text = Text(EXPLANATION + "\n", style="bold")
        typed = typed.strip()
        overridden, reason = verdict(typed)
        if overridden:
            text.append(f"Enter will RUN the step (override, reason: {reason}).",
                        style="bold reverse red")
        elif typed.upper().startswith("OVERRIDE"):
            text.append("OVERRIDE needs a reason after it; as typed, Enter skips the step.",
                        style="bold yellow")
        else:
            text.append("Enter will skip the step.", style="green")
        self.update(text)

    def hide(self) -> None:
        self.display = False
