"""What happened, once the run is over, and what the operator can do next."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

STATUS_STYLES = {
    "completed": "bold green",
    "stopped": "bold yellow",
    "aborted": "bold red",
    "failed": "bold red",
    "interrupted": "bold red",
}


class RunSummary(Static):
    """Hidden while the run is going; one short block afterwards."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.display = False

    def show_result(self, status: str, reason: str, steps_done: int, steps_total: int,
                    measurements: int, abnormal: int, can_review: bool) -> None:
        text = Text.assemble(("Run ", "bold"), (status, STATUS_STYLES.get(status, "bold")))
        if reason:
            text.append(f" — {reason}")
        text.append(f"\n{steps_done}/{steps_total} steps done · {measurements} measurements · ")
        text.append(f"{abnormal} abnormal", style="bold red" if abnormal else "green")
        hint = "v: review this run · Esc: new study" if can_review else "Esc: new study"
        text.append(f"\n{hint}", style="dim")
        self.update(text)
        self.set_class(status != "completed", "-problem")
        self.display = True
