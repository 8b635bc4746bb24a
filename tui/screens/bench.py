"""The bench profile's instruments, the latest bench check, and running a new one.

Opening a bench can take seconds (the simulated bench starts a process; a real one waits
on VISA timeouts), so it happens on a worker that opens, reads and closes again; the
screen only ever shows a finished snapshot or the error that stopped it. A bench check
(edxbench.benchcheck) stimulates into the test fixture, so it runs only after the
operator confirms that no subject is connected; it is stored as an ordinary run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui.screens.confirm import ConfirmScreen
from tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from tui.app import EdxApp


class BenchScreen(Screen[None]):
    """Instruments with identity and connection state; r checks the bench again."""

    CSS_PATH = "bench.tcss"
    SUB_TITLE = "bench"
    HELP = ("The bench profile's instruments. The bench is opened, each instrument's "
            "identity (*IDN?) and settings are read, and the bench is closed again with all "
            "outputs off. r checks the connections again. The latest bench check (the "
            "validation of stimulator, amplifier, noise, delays and mains pickup against the "
            "fixture) is shown with its outcome; v runs a new one after you confirm that the "
            "fixture, not a person, is connected. Esc goes back.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "check", "Check again"),
        Binding("v", "validate", "Run bench check"),
        Binding("escape", "back", "Back"),
    ]

    class ValidationLoaded(Message):
        """The latest stored bench check (None: never checked), or why it could not load."""

        def __init__(self, summary: dict[str, Any] | None, error: str = "",
                     finished: bool = False) -> None:
            super().__init__()
            self.summary = summary
            self.error = error
            self.finished = finished  # a check this screen ran has just ended

    class ValidationStep(Message):
        def __init__(self, title: str, status: str) -> None:
            super().__init__()
            self.title = title
            self.status = status

    class Checked(Message):
        def __init__(self, info: dict[str, Any] | None, error: str = "") -> None:
            super().__init__()
            self.info = info
            self.error = error

    def __init__(self, profile: str, config: Path | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.config = config
        self.checking = False
        self.validating = False
        self.info: dict[str, Any] | None = None
        self.error = ""
        self.validation: dict[str, Any] | None = None
        self._validation_steps: list[tuple[str, str]] = []

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="bench-state")
        yield DataTable(id="bench-instruments", cursor_type="row")
        with VerticalScroll(id="bench-check-box"):
            yield Static(id="bench-check")
        with VerticalScroll(id="bench-settings-box"):
            yield Static(id="bench-settings")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#bench-instruments", DataTable)
        table.add_columns("Role", "State", "Identity (*IDN?)")
        table.border_title = f"profile {self.profile}"
        self.query_one("#bench-settings-box").border_title = "settings snapshot"
        self.query_one("#bench-check-box").border_title = "latest bench check"
        self.query_one("#bench-check", Static).update(Text("reading…", style="dim"))
        table.focus()
        self.action_check()
        self._load_validation()

    @work(thread=True, exit_on_error=False, group="bench-validation-read")
    def _load_validation(self, finished: bool = False) -> None:
        try:
            summary = self.edx.source.latest_bench_check(self.profile)
        except Exception as exc:
            self.post_message(self.ValidationLoaded(
                None, f"cannot read bench checks: {type(exc).__name__}: {exc}"))
            return
        self.post_message(self.ValidationLoaded(summary, finished=finished))

    def on_bench_screen_validation_loaded(self, message: ValidationLoaded) -> None:
        self.validation = message.summary
        box = self.query_one("#bench-check", Static)
        if message.error:
            box.update(Text(message.error, style="bold red"))
            return
        box.update(validation_text(message.summary, self.profile))
        if message.finished and message.summary is not None:
            outcome = str(message.summary.get("outcome", "")).upper()
            self.notify(f"Bench check {outcome}.", severity="information" if outcome == "PASS"
                        else "warning", timeout=6)

    def action_validate(self) -> None:
        if self.validating or self.checking:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.validating = True
                self._validation_steps = []
                self.query_one("#bench-check", Static).update(
                    Text("bench check running…", style="bold yellow"))
                self.refresh_bindings()
                self._validate()

        self.app.push_screen(ConfirmScreen(
            "Run the bench check? The stimulator fires into the test fixture. Disconnect "
            "any person and connect the fixture first.", yes_label="Run check"), confirmed)

    @work(thread=True, exit_on_error=False, exclusive=True, group="bench-validation")
    def _validate(self) -> None:
        from engine import events as ev

        def on_event(event: Any) -> None:  # engine thread: post only
            if isinstance(event, ev.StepCompleted) and event.kind == "bench_check":
                self.post_message(self.ValidationStep(event.title, event.status))

        try:
            self.edx.source.run_bench_check(self.profile, self.config, self.edx.fast,
                                            on_event)
        except Exception as exc:
            self.post_message(self.ValidationLoaded(
                None, f"bench check could not run: {type(exc).__name__}: {exc}"))
        else:
            self._load_validation(finished=True)
        finally:
            self.validating = False
            self.app.call_from_thread(self.refresh_bindings)

    def on_bench_screen_validation_step(self, message: ValidationStep) -> None:
        self._validation_steps.append((message.title, message.status))
        text = Text("bench check running…\n", style="bold yellow")
        for title, status in self._validation_steps:
            text.append(f"  {status:<8} {title}\n")
        self.query_one("#bench-check", Static).update(text)

    def action_check(self) -> None:
        if self.checking:
            return
        self.checking = True
        self.query_one("#bench-state", Static).update(
            Text(f"Opening bench profile '{self.profile}'…", style="dim"))
        self.refresh_bindings()
        self._check()

    @work(thread=True, exit_on_error=False, exclusive=True, group="bench")
    def _check(self) -> None:
        try:
            info = self.edx.source.bench_info(self.profile, self.config)
        except Exception as exc:
            self.post_message(self.Checked(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Checked(info))

    def on_bench_screen_checked(self, message: Checked) -> None:
        self.checking = False
        self.info, self.error = message.info, message.error
        table = self.query_one("#bench-instruments", DataTable)
        table.clear()
        state = self.query_one("#bench-state", Static)
        settings = self.query_one("#bench-settings", Static)
        if message.info is None:
            state.update(Text.assemble(("not connected", "bold red"), " — ", message.error))
            table.add_row("bench", Text("error", style="bold red"), message.error)
            settings.update("")
        else:
            info = message.info
            identities: dict[str, str] = info.get("identities") or {}
            for role, idn in identities.items():
                ok = bool(idn)
                table.add_row(role, Text("connected" if ok else "no answer",
                                         style="green" if ok else "bold red"), idn or "–")
            state.update(Text.assemble(
                ("connected", "bold green"), f" · profile {info.get('profile', self.profile)} "
                f"({info.get('kind', '?')}) · {len(identities)} instruments · closed again, "
                "outputs off"))
            settings.update(Text(json.dumps(info.get("settings") or {}, indent=2,
                                            sort_keys=True, default=str)))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check":
            return not self.checking and not self.validating
        if action == "validate":
            return not self.validating and not self.checking
        return True

    def action_back(self) -> None:
        self.dismiss(None)


OUTCOME_STYLES = {"pass": "bold green", "fail": "bold red", "incomplete": "bold yellow"}


def validation_text(summary: dict[str, Any] | None, profile: str) -> Text:
    """The latest bench check in a few lines: outcome, when, and each check's result."""
    if summary is None:
        return Text(f"No bench check on record for profile '{profile}'. v runs one.",
                    style="bold yellow")
    outcome = str(summary.get("outcome") or "incomplete")
    checks = list(summary.get("checks") or [])
    passed = sum(1 for c in checks if c.get("outcome") == "pass")
    when = str(summary.get("finished_at") or summary.get("started_at") or "")[:16]
    text = Text.assemble((outcome.upper(), OUTCOME_STYLES.get(outcome, "bold")),
                         f" · {when.replace('T', ' ')} · {passed}/{len(checks)} checks passed"
                         f" · run {str(summary.get('run_id', ''))[:8]}")
    if summary.get("status") != "completed":
        text.append(f" · run {summary.get('status')}", style="yellow")
    for check in checks:
        result = str(check.get("outcome") or "")
        text.append("\n")
        text.append(f"{result.upper():>7} ", style=OUTCOME_STYLES.get(result, "yellow"))
        text.append(str(check.get("title") or check.get("step_id") or ""))
    return text
