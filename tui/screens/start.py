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
    from engine.catalog import Symptom
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
            "bench shows the instruments and whether they answer. s picks presenting "
            "symptoms (Enter toggles one): the protocol list then shows only the composite "
            "studies suggested for them, with the reason; x shows every protocol again.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "start", "Start run"),
        Binding("l,f2", "runs", "Past runs"),
        Binding("i,f6", "interrupted", "Interrupted"),
        Binding("b,f3", "bench", "Bench"),
        Binding("r,f9", "reattach", "Re-attach", show=False),
        Binding("w", "reattach(True)", "Watch", show=False),
        Binding("s", "symptoms", "Symptoms", show=False),
        Binding("x", "clear_symptoms", "All protocols", show=False),
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
        # symptom suggestions (data/symptoms.yaml): loaded when first asked for
        self.all_protocols: list[ProtocolEntry] = []
        self.symptoms: tuple[Symptom, ...] = ()
        self.chosen_symptoms: list[str] = []

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="start-columns"):
            with Vertical(id="protocol-column"):
                yield Label("Protocol", classes="column-title", id="protocol-title")
                yield OptionList(id="symptoms", markup=False)
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
        symptoms = self.query_one("#symptoms", OptionList)
        symptoms.display = False
        symptoms.styles.height = "auto"
        symptoms.styles.max_height = 10
        symptoms.border_title = "symptoms — Enter toggles, x clears"
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
        self.protocols = self.all_protocols = message.protocols
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

    # ---- presenting symptoms → suggested composite studies ------------------------------

    class SymptomsLoaded(Message):
        def __init__(self, symptoms: tuple[Symptom, ...], error: str = "") -> None:
            super().__init__()
            self.symptoms = symptoms
            self.error = error

    def action_symptoms(self) -> None:
        if self.symptoms:
            self._show_symptoms()
        else:
            self.say("Reading the symptom list…")
            self._load_symptoms()

    @work(thread=True, exit_on_error=False, group="start-symptoms")
    def _load_symptoms(self) -> None:
        try:
            from engine.catalog import load_symptoms

            self.post_message(self.SymptomsLoaded(load_symptoms()))
        except Exception as exc:  # a malformed data file: one line naming file and line
            self.post_message(self.SymptomsLoaded((), f"Symptom suggestions unavailable: {exc}"))

    def on_start_screen_symptoms_loaded(self, message: SymptomsLoaded) -> None:
        self.symptoms = message.symptoms
        if message.error:
            self.say(message.error, error=True)
            return
        self.say("")
        self._show_symptoms()

    def _show_symptoms(self) -> None:
        listing = self.query_one("#symptoms", OptionList)
        highlighted = listing.highlighted
        listing.set_options(Option(("✓ " if s.id in self.chosen_symptoms else "  ") + s.label,
                                   id=f"symptom-{s.id}") for s in self.symptoms)
        listing.highlighted = highlighted if highlighted is not None else 0
        listing.display = True
        listing.focus()

    @on(OptionList.OptionSelected, "#symptoms")
    def _symptom_toggled(self, event: OptionList.OptionSelected) -> None:
        symptom = self.symptoms[event.option_index].id
        if symptom in self.chosen_symptoms:
            self.chosen_symptoms.remove(symptom)
        else:
            self.chosen_symptoms.append(symptom)
        self._show_symptoms()
        self._filter_protocols()

    def action_clear_symptoms(self) -> None:
        self.chosen_symptoms.clear()
        self.query_one("#symptoms", OptionList).display = False
        self._filter_protocols()
        self.query_one("#protocols", OptionList).focus()

    def _filter_protocols(self) -> None:
        """Only the composites suggested for the chosen symptoms, most often suggested
        first, each with the symptoms it answers; every protocol when none is chosen."""
        from engine.catalog import suggest

        protocol_list = self.query_one("#protocols", OptionList)
        title = self.query_one("#protocol-title", Label)
        if not self.chosen_symptoms:
            self.protocols = self.all_protocols
            protocol_list.set_options(
                Option(Text.assemble((p.title, "bold"), "\n", (p.id, "dim")), id=p.id)
                for p in self.protocols)
            title.update("Protocol")
        else:
            by_id = {p.id: p for p in self.all_protocols}
            ranked = [(by_id[pid], reasons) for pid, reasons
                      in suggest(self.chosen_symptoms, self.symptoms) if pid in by_id]
            self.protocols = [entry for entry, _ in ranked]
            protocol_list.set_options(
                Option(Text.assemble((entry.title, "bold"), "\n",
                                     ("for " + ", ".join(s.label.lower() for s, _ in reasons),
                                      "green")), id=entry.id)
                for entry, reasons in ranked)
            title.update(f"Protocol — suggested ({len(ranked)}); x shows all")
            if not ranked:
                self.say("None of the suggested studies is in this protocol library.",
                         error=True)
        if self.protocols:
            protocol_list.highlighted = 0

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
    def _protocol_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.say("")
        if self.chosen_symptoms and 0 <= event.option_index < len(self.protocols):
            self._say_why(self.protocols[event.option_index].id)

    def _say_why(self, protocol_id: str) -> None:
        """The reasons and sources for a suggested study, under the columns."""
        from engine.catalog import suggest

        for pid, reasons in suggest(self.chosen_symptoms, self.symptoms):
            if pid == protocol_id:
                self.query_one("#start-message", Static).update(Text("\n".join(
                    f"{symptom.label}: {suggestion.why}" for symptom, suggestion in reasons)))

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
