"""The current step's title, instructions and electrode diagram, as the protocol wrote them."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class StepPanel(VerticalScroll):
    """Scrolls, because instructions plus a diagram rarely fit in 80×24."""

    def compose(self):
        yield Static(id="step-title")
        yield Static(id="step-text")
        yield Static(id="step-diagram")

    def show_step(self, title: str, text: str = "", diagram: str = "", attempt: int = 1) -> None:
        heading = Text(title, style="bold")
        if attempt > 1:
            heading.append(f"  attempt {attempt}", style="dim")
        self.query_one("#step-title", Static).update(heading)
        step_text = self.query_one("#step-text", Static)
        step_text.update(Text(text.strip()))
        step_text.display = bool(text.strip())
        diagram_widget = self.query_one("#step-diagram", Static)
        diagram_widget.update(Text(diagram.rstrip("\n")))
        diagram_widget.display = bool(diagram.strip())
        self.scroll_home(animate=False)

    def show_message(self, message: str) -> None:
        self.show_step(message)
