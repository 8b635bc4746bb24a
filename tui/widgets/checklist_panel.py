"""The contraindication checklist as one form: every item, answered, current or to come.

The engine asks the checklist one item at a time; showing the whole list with the
answers given so far lets the operator see what is coming and check what was said
before the first stimulus. Items come from the checklist data (`engine.safety`), so the
panel never lists a question the engine will not ask.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

PREFIX = "checklist."


def is_checklist(prompt: Any) -> bool:
    return prompt is not None and str(prompt.id).startswith(PREFIX)


def load_items() -> list[tuple[str, str]]:
    """(prompt id, question) of every checklist item, in the order the engine asks them."""
    try:
        from engine.safety import load_safety

        return [(f"{PREFIX}{item.id}", item.question) for item in load_safety().items]
    except Exception:
        return []  # no data: the panel shows the items as they are asked


def answer_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


class ChecklistPanel(Static):
    """Answered items ticked, the current one marked, the rest dim."""

    DEFAULT_CSS = """
    ChecklistPanel { height: auto; border: round $warning; padding: 0 1; margin-bottom: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.items: list[tuple[str, str]] = []
        self.answers: dict[str, Any] = {}
        self.display = False

    def show_current(self, prompt: Any) -> None:
        if not self.items:
            self.items = load_items()
        if prompt.id not in {pid for pid, _ in self.items}:
            self.items.append((prompt.id, prompt.text))
        ids = [pid for pid, _ in self.items]
        index = ids.index(prompt.id)
        self.border_title = f"Safety checklist · item {index + 1} of {len(ids)}"
        self.border_subtitle = "Enter keeps the subject record's answer"
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=1)
        grid.add_column(ratio=1)
        grid.add_column(justify="right", no_wrap=True)
        for pid, question in self.items:
            if pid == prompt.id:
                grid.add_row(Text("▶", style="bold"), Text(question, style="bold"),
                             Text("answer below", style="bold yellow"))
            elif pid in self.answers:
                grid.add_row(Text("✓", style="green"), Text(question, style="dim"),
                             Text(answer_text(self.answers[pid]), style="bold"))
            else:
                grid.add_row(Text("·", style="dim"), Text(question, style="dim"), "")
        self.update(grid)
        self.display = True

    def record(self, prompt_id: str, value: Any) -> None:
        self.answers[prompt_id] = value

    def hide(self) -> None:
        self.display = False
