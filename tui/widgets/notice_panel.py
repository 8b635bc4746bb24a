"""Engine notices and worker errors, kept visible (a toast would vanish mid-study)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

LEVEL_STYLES = {"info": "", "warning": "bold yellow", "error": "bold red"}


class NoticePanel(RichLog):
    """Bounded log; hidden until the first notice arrives."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, max_lines=200, wrap=True, markup=False,
                         auto_scroll=True)
        self.count = 0
        self.display = False

    def add_notice(self, level: str, text: str, at: str = "") -> None:
        self.count += 1
        self.display = True
        stamp = at[11:19] if len(at) >= 19 else ""
        line = Text.assemble((f"{stamp} ", "dim"),
                             (f"{level.upper():7}", LEVEL_STYLES.get(level, "")), " ", text)
        self.write(line)
        if level == "error":
            self.add_class("-error")
