"""The pending operator prompt as an inline form.

The form only collects an answer and posts `PromptForm.Submitted`; the screen hands it
to the prompter, whose validation is the single source of truth. A refused answer comes
back through `show_error` and the prompt stays where it is. Safety checklist items show
inside the whole checklist, and a gate override prompt under a red warning panel.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.checklist_panel import ChecklistPanel, is_checklist
from tui.widgets.fault_panel import FaultPanel, is_fault_prompt
from tui.widgets.override_warning import OverrideWarning, is_override_prompt


def _fmt(number: float | None) -> str:
    return "" if number is None else f"{number:g}"


def number_hint(prompt: Any) -> str:
    lo, hi = _fmt(prompt.minimum), _fmt(prompt.maximum)
    if lo and hi:
        span = f"{lo}–{hi}"
    elif lo:
        span = f"≥ {lo}"
    elif hi:
        span = f"≤ {hi}"
    else:
        span = ""
    return " ".join(part for part in (span, prompt.unit) if part)


class PromptForm(Vertical):
    """Renders confirm, number, choice, text and review prompts; Enter submits."""

    class Submitted(Message):
        """The operator answered; the value is raw, the prompter validates it."""

        def __init__(self, prompt_id: str, value: Any) -> None:
            super().__init__()
            self.prompt_id = prompt_id
            self.value = value

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.prompt: Any = None
        self.busy = False
        self.display = False

    def compose(self) -> ComposeResult:
        yield ChecklistPanel(id="prompt-checklist")
        yield OverrideWarning(id="prompt-override")
        yield FaultPanel(id="prompt-fault")
        yield Static(id="prompt-text")
        yield Horizontal(id="prompt-controls")
        yield Static(id="prompt-error")

    async def show(self, prompt: Any, fault: str = "") -> None:
        """Replace whatever was asked before with this prompt and focus its control.

        fault: the instrument error a `.fault` prompt asks about (shown in a red panel)."""
        self.prompt = prompt
        self.busy = False
        self.display = True
        text = Text(prompt.text, style="bold")
        if prompt.kind == "number" and (hint := number_hint(prompt)):
            text.append(f"  ({hint})", style="dim")
        self.query_one("#prompt-text", Static).update(text)
        checklist = self.query_one(ChecklistPanel)
        if is_checklist(prompt):
            checklist.show_current(prompt)
        else:
            checklist.hide()
        warning = self.query_one(OverrideWarning)
        if is_override_prompt(prompt):
            warning.show("" if prompt.default is None else str(prompt.default))
        else:
            warning.hide()
        self.set_class(is_override_prompt(prompt), "-override")
        fault_panel = self.query_one(FaultPanel)
        if is_fault_prompt(prompt):
            fault_panel.show(fault)
        else:
            fault_panel.hide()
        self.show_error("")
        controls = self.query_one("#prompt-controls", Horizontal)
        await controls.remove_children()
        widgets = list(self._controls_for(prompt))
        await controls.mount_all(widgets)
        self.set_class(prompt.kind == "choice", "-choice")
        widgets[0].focus()

    def _controls_for(self, prompt: Any) -> list[Any]:
        kind = prompt.kind
        if kind in ("number", "text"):
            default = "" if prompt.default is None else str(prompt.default)
            placeholder = number_hint(prompt) if kind == "number" else "type, then Enter"
            if is_override_prompt(prompt):
                placeholder = "Enter alone skips · OVERRIDE <reason> runs it (audited)"
            widgets: list[Any] = [Input(value=default, placeholder=placeholder,
                                        classes="prompt-input", compact=True)]
            if kind == "number" and prompt.unit:
                widgets.append(Static(prompt.unit, classes="prompt-unit"))
            return widgets
        if kind == "confirm":
            yes = Button("Yes", variant="primary", classes="prompt-yes", compact=True)
            no = Button("No", classes="prompt-no", compact=True)
            return [no, yes] if prompt.default is False else [yes, no]
        if kind == "review":
            return [Button("Accept (a)", variant="success", classes="prompt-accept",
                           compact=True),
                    Button("Repeat (r)", variant="warning", classes="prompt-repeat",
                           compact=True)]
        # choice
        options = OptionList(*(Option(c, id=f"c{i}") for i, c in enumerate(prompt.choices)),
                             classes="prompt-choices", compact=True,
                             markup=False)
        if prompt.default in prompt.choices:
            options.highlighted = list(prompt.choices).index(prompt.default)
        return [options]

    def clear(self) -> None:
        self.prompt = None
        self.busy = False
        self.display = False
        self.query_one(OverrideWarning).hide()
        self.query_one(FaultPanel).hide()

    def accepted(self, prompt_id: str, value: Any) -> None:
        """The prompter took this answer; the checklist remembers it for display."""
        if prompt_id.startswith("checklist."):
            self.query_one(ChecklistPanel).record(prompt_id, value)

    @property
    def in_checklist(self) -> bool:
        return is_checklist(self.prompt)

    @on(Input.Changed)
    def _typing(self, event: Input.Changed) -> None:
        if is_override_prompt(self.prompt):
            self.query_one(OverrideWarning).show(event.value)

    def show_error(self, message: str) -> None:
        error = self.query_one("#prompt-error", Static)
        error.update(Text(message, style="bold red"))
        error.display = bool(message)
        if message:
            self.busy = False

    def submit(self, value: Any) -> None:
        """Post the answer unless one is already on its way."""
        if self.prompt is None or self.busy:
            return
        self.busy = True
        self.post_message(self.Submitted(self.prompt.id, value))

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    @on(Button.Pressed)
    def _button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        answers = {"prompt-yes": True, "prompt-no": False, "prompt-accept": "accept",
                   "prompt-repeat": "repeat"}
        for cls, value in answers.items():
            if event.button.has_class(cls):
                self.submit(value)

    @on(OptionList.OptionSelected)
    def _choice_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.prompt is not None:
            self.submit(self.prompt.choices[event.option_index])
