"""The protocol's steps with a status icon each, so the operator sees where the run is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

ICONS = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold"),
    "done": ("✓", "green"),
    "skipped": ("↷", "yellow"),
    "failed": ("✗", "bold red"),
}


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """'3/12 ██▌░░░░░░░': steps finished (done, skipped or failed) out of all steps."""
    if total <= 0:
        return ""
    fraction = min(1.0, max(0.0, done / total))
    full, part = divmod(round(fraction * width * 8), 8)
    bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return f"{done}/{total} {bar}{'░' * (width - len(bar))}"


class StepList(OptionList):
    """Steps keyed by `seq`; statuses come from StepStarted / StepCompleted events."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._steps: list[tuple[int, str]] = []
        self._status: dict[int, str] = {}
        self._attempt: dict[int, int] = {}

    def set_steps(self, steps: Iterable[Any]) -> None:
        """Accept StepInfo-like objects (seq, title)."""
        self._steps = [(int(s.seq), str(s.title)) for s in steps]
        self._status = {seq: "pending" for seq, _ in self._steps}
        self.set_options(Option(self._prompt(seq, title), id=f"s{seq}")
                         for seq, title in self._steps)
        self.border_subtitle = progress_bar(self.finished, len(self._steps))

    @property
    def finished(self) -> int:
        return sum(1 for status in self._status.values() if status in ("done", "skipped",
                                                                        "failed"))

    def status_of(self, seq: int) -> str | None:
        return self._status.get(seq)

    def set_status(self, seq: int, status: str, attempt: int = 1) -> None:
        titles = dict(self._steps)
        if seq not in titles:
            return
        self._status[seq] = status
        self._attempt[seq] = attempt
        index = [s for s, _ in self._steps].index(seq)
        self.replace_option_prompt_at_index(index, self._prompt(seq, titles[seq]))
        if status == "running":
            self.highlighted = index
        self.border_subtitle = progress_bar(self.finished, len(self._steps))

    def _prompt(self, seq: int, title: str) -> Text:
        icon, style = ICONS.get(self._status.get(seq, "pending"), ICONS["pending"])
        text = Text.assemble((icon, style), " ", title)
        if (attempt := self._attempt.get(seq, 1)) > 1:
            text.append(f" (×{attempt})", style="dim")
        return text
