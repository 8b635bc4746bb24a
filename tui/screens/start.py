"""Pick a protocol and a subject, then start; or open past runs, interrupted runs, the bench.

On start the stored runs are checked for ones whose engine died (`detect_interrupted`),
so a crashed study is announced here rather than discovered later in the list.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from tui.app import EdxApp
    from tui.data import ProtocolEntry

# Pseudonymous ids only: no spaces, so a typed real name stands out as invalid.
SUBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def subject_id_error(value: str) -> str | None:
    """Why a typed subject id is refused, or None when it is fine."""
    if not value:
        return "Choose a subject or type a pseudonymous id."
    if not SUBJECT_ID.match(value):
        return ("Subject ids are pseudonyms: letters, digits, '.', '_' or '-', no spaces, "
                "at most 64 characters.")
    return None


class StartScreen(Screen[None]):
    """The home screen: what to run, on whom."""

    CSS_PATH = "start.tcss"
    TITLE = "edxbench"
    SUB_TITLE = "new study"
    HELP = ("Choose a protocol (arrows, Enter), then a subject from the bench's list or type "
            "a pseudonymous subject id, then start. Past runs opens the stored studies; "
            "interrupted lists runs whose engine stopped without finishing, to resume one; "
            "bench shows the instruments and whether they answer.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "start", "Start run"),
        Binding("l,f2", "runs", "Past runs"),
        Binding("i,f6", "interrupted", "Interrupted"),
        Binding("b,f3", "bench", "Bench"),
        Binding("r,f9", "reattach", "Re-attach", show=False),
        Binding("w", "reattach(True)", "Watch", show=False),
    ]

    class Live(Message):
        """Runs whose engine host answers (edxbench.live), for this database."""

        def __init__(self, runs: list[dict[str, Any]], error: str = "") -> None:
            super().__init__()
            self.runs = runs
            self.error = error

    class Loaded(Message):
        def __init__(self, protocols: list[ProtocolEntry], subjects: list[str],
                     error: str = "") -> None:
            super().__init__()
            self.protocols = protocols
            self.subjects = subjects
            self.error = error

    class Interrupted(Message):
        def __init__(self, run_ids: list[str], error: str = "") -> None:
            super().__init__()
            self.run_ids = run_ids
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.protocols: list[ProtocolEntry] = []
        self.interrupted: list[str] = []
        self.live: list[dict[str, Any]] = []

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="start-columns"):
            with Vertical(id="protocol-column"):
                yield Label("Protocol", classes="column-title")
                yield OptionList(id="protocols")
            with Vertical(id="subject-column"):
                yield Label("Subject", classes="column-title")
                yield OptionList(id="subjects", markup=False)
                yield Label("Subject id (pseudonymous)")
                yield Input(placeholder="e.g. normal-adult or S-0042", id="subject-id")
                yield Button("Start run (F5)", variant="primary", id="start")
        yield Static(id="start-message")
        yield Static(id="start-interrupted")
        yield OptionList(id="live-runs", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#protocols", OptionList).focus()
        self.query_one("#start-interrupted", Static).display = False
        # After the first paint: these import the engine, PyVISA and parse YAML on threads
        # that would otherwise hold the GIL while the screen is being drawn.
        self.call_after_refresh(self._load)
        self.call_after_refresh(self._find_interrupted)
        live = self.query_one("#live-runs", OptionList)
        live.display = False
        live.styles.height = "auto"
        live.styles.max_height = 6
        live.border_title = "live runs — r re-attaches, w watches"
        self.call_after_refresh(self._find_live)
        self.set_interval(5.0, self._find_live)  # a study started from another terminal

    def on_screen_resume(self) -> None:
        """Back from a run or the list: start over at the protocol list, where keys work."""
        self.query_one("#protocols", OptionList).focus()
        self._find_live()

    # ---- live runs: studies whose engine host outlived their terminal ------------------

    @work(thread=True, exit_on_error=False, exclusive=True, group="start-live")
    def _find_live(self) -> None:
        try:
            from edxbench.live.client import live_runs  # only the socket scan, no engine

            self.post_message(self.Live(live_runs(self.edx.db_path)))
        except Exception as exc:
            self.post_message(self.Live([], f"Could not list live runs: {exc}"))

    def on_start_screen_live(self, message: Live) -> None:
        self.live = message.runs
        listing = self.query_one("#live-runs", OptionList)
        listing.set_options(Option(
            f"{r['protocol_title']} · {r['subject_id']} · {r['run_id'][:8]} · at "
            f"'{r['step']}' · {'a terminal holds control' if r['controlled'] else 'waiting'}",
            id=r["run_id"]) for r in self.live)
        if self.live:
            listing.highlighted = 0
        listing.display = bool(self.live)
        if message.error:
            self.say(message.error, error=True)
        request = getattr(self.edx, "attach_on_start", None)
        if request is not None:  # `edxbench attach RUN [--watch]`
            self.edx.attach_on_start = None
            run_id, watch = request
            match = [r for r in self.live if r["run_id"] == run_id]
            if match:
                self.attach(match[0], watch)
            else:
                self.say(f"Run {run_id[:8]} is no longer live.", error=True)

    @on(OptionList.OptionSelected, "#live-runs")
    def _live_chosen(self) -> None:
        self.action_reattach()

    def action_reattach(self, watch: bool = False) -> None:
        """Open the run screen on the highlighted live run: control if free, else watch."""
        if not self.live:
            self.say("No live runs to re-attach to.")
            return
        index = self.query_one("#live-runs", OptionList).highlighted or 0
        self.attach(self.live[min(index, len(self.live) - 1)], watch)

    def attach(self, info: dict[str, Any], watch: bool = False) -> None:
        from pathlib import Path

        from tui.data import ProtocolEntry
        from tui.screens.run import RunScreen

        screen = RunScreen(ProtocolEntry(info["protocol_id"], info["protocol_title"], Path()),
                           info["subject_id"])
        screen.attach_to = (info["socket"], watch)
        self.app.push_screen(screen)

    @work(thread=True, exit_on_error=False, group="start-load")
    def _load(self) -> None:
        source = self.edx.source
        error = ""
        protocols: list[Any] = []
        subjects: list[str] = []
        try:
            protocols = self.edx.protocol_list()
        except Exception as exc:
            error = f"Could not list protocols: {exc}"
        try:
            subjects = source.subjects()
        except Exception as exc:
            error = error or f"Could not list subjects: {exc}"
        self.post_message(self.Loaded(protocols, subjects, error))

    @work(thread=True, exit_on_error=False, group="start-interrupted")
    def _find_interrupted(self) -> None:
        try:
            self.post_message(self.Interrupted(self.edx.source.interrupted_runs()))
        except Exception as exc:
            self.post_message(self.Interrupted([], f"Could not check for interrupted runs: "
                                                   f"{exc}"))

    def on_start_screen_interrupted(self, message: Interrupted) -> None:
        self.interrupted = message.run_ids
        banner = self.query_one("#start-interrupted", Static)
        if message.error:
            banner.update(Text(message.error, style="dim"))
        elif message.run_ids:
            n = len(message.run_ids)
            banner.update(Text.assemble(
                (f" {n} interrupted run{'s' if n != 1 else ''} ", "bold reverse red"),
                " stopped without finishing. ", ("i", "bold"), " lists them to resume one."))
        banner.display = bool(message.error or message.run_ids)

    def on_start_screen_loaded(self, message: Loaded) -> None:
        self.protocols = message.protocols
        protocol_list = self.query_one("#protocols", OptionList)
        protocol_list.set_options(
            Option(Text.assemble((p.title, "bold"), "\n", (p.id, "dim")), id=p.id)
            for p in self.protocols)
        if self.protocols:
            protocol_list.highlighted = 0
        subjects = self.query_one("#subjects", OptionList)
        subjects.set_options(Option(s, id=f"subject-{i}") for i, s in enumerate(message.subjects))
        if message.error:
            self.say(message.error, error=True)
        elif not self.protocols:
            self.say("No protocols found.", error=True)

    def say(self, text: str, error: bool = False) -> None:
        self.query_one("#start-message", Static).update(
            Text(text, style="bold red" if error else ""))

    @property
    def selected_protocol(self) -> ProtocolEntry | None:
        index = self.query_one("#protocols", OptionList).highlighted
        if index is None or not (0 <= index < len(self.protocols)):
            return None
        return self.protocols[index]

    @on(OptionList.OptionSelected, "#protocols")
    def _protocol_chosen(self) -> None:
        self.query_one("#subjects", OptionList).focus()

    @on(OptionList.OptionHighlighted, "#protocols")
    def _protocol_highlighted(self) -> None:
        self.say("")

    def on_descendant_focus(self, event: Any) -> None:
        """Arriving at the subject list highlights its first entry, so Enter picks it."""
        subjects = self.query_one("#subjects", OptionList)
        if event.widget is subjects and subjects.highlighted is None and subjects.option_count:
            subjects.highlighted = 0

    @on(OptionList.OptionHighlighted, "#subjects")
    def _subject_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.query_one("#subject-id", Input).value = str(event.option.prompt)

    @on(OptionList.OptionSelected, "#subjects")
    def _subject_chosen(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#subject-id", Input).value = str(event.option.prompt)
        self.query_one("#start", Button).focus()

    @on(Input.Submitted, "#subject-id")
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        protocol = self.selected_protocol
        if protocol is None:
            self.say("Choose a protocol first.", error=True)
            self.query_one("#protocols", OptionList).focus()
            return
        subject = self.query_one("#subject-id", Input).value.strip()
        if (problem := subject_id_error(subject)) is not None:
            self.say(problem, error=True)
            self.query_one("#subject-id", Input).focus()
            return
        self.say("")
        self.edx.start_run(protocol, subject)

    def action_runs(self) -> None:
        self.edx.open_runs()

    def action_interrupted(self) -> None:
        self.edx.open_interrupted()

    def action_bench(self) -> None:
        self.edx.open_bench()
