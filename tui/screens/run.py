"""A study in progress: steps, live sweep, measurements and the pending prompt.

The engine runs synchronously on one thread worker. Its subscribers only post
messages here, and every widget change happens in this screen's handlers. Answers go
back through the `ChannelPrompter`, which validates them.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header

from engine import events as ev
from engine.prompts import AnswerError, ChannelPrompter
from tui.measures import provisional_values
from tui.messages import EngineEvent, EngineFailed, EngineStopped, SessionOpened
from tui.progress import SeriesCounter, plans_from_provenance
from tui.screens.confirm import ConfirmScreen
from tui.widgets.key_footer import KeyFooter
from tui.widgets.measurements_table import MeasurementsTable
from tui.widgets.notice_panel import NoticePanel
from tui.widgets.prompt_form import PromptForm
from tui.widgets.run_summary import RunSummary
from tui.widgets.step_list import StepList
from tui.widgets.step_panel import StepPanel
from tui.widgets.sweep_status import SweepStatus
from tui.widgets.trace_plot import TracePlot

if TYPE_CHECKING:
    from tui.app import EdxApp
    from tui.data import ProtocolEntry

class RunScreen(Screen[None]):
    """Owns one engine run from start to summary."""

    CSS_PATH = "run.tcss"
    SUB_TITLE = "run"
    HELP = ("Answer each prompt in the form at the bottom (Enter submits). After a recorded "
            "step, accept (a) or repeat (r) it. Stop (s) ends the run after the current "
            "action; abort (ctrl+x) turns outputs off at once. The measurements table "
            "flags values outside the reference limits.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "review('accept')", "Accept"),
        Binding("r", "review('repeat')", "Repeat"),
        Binding("s", "stop", "Stop"),
        Binding("f8", "stop", "Stop", show=False, priority=True),
        # Priority: a focused Input would otherwise take ctrl+x as "cut".
        Binding("ctrl+x", "abort", "Abort", priority=True),
        Binding("v", "review_run", "Review run"),
        Binding("m", "markers", "Markers"),
        Binding("escape", "leave", "New study"),
        Binding("p,f7", "pause", "Pause"),
        Binding("t", "take_control", "Take control", show=False),
        Binding("d", "detach", "Detach", show=False),
    ]

    # (socket, watch): attach to a live run in an engine host instead of starting one
    attach_to: tuple[str, bool] | None = None

    def __init__(self, protocol: ProtocolEntry, subject_id: str,
                 resume_run_id: str | None = None) -> None:
        """resume_run_id continues a stored run instead of starting the protocol anew."""
        super().__init__()
        self.protocol = protocol
        self.subject_id = subject_id
        self.resume_run_id = resume_run_id
        self.prompter = ChannelPrompter(source="tui")
        self.session: Any = None
        self.run_id: str | None = None
        self.state = "starting"  # starting → running → finished
        self.final_status: str | None = None
        self.final_reason = ""
        self.steps_total = 0
        self.steps_done = 0
        self.series = SeriesCounter()  # F-waves n/20, RNS n/10, averaging n/N
        self.last_error = ""
        self.marker_step: str | None = None  # the step whose accepted sweep m opens
        self._step_titles: dict[str, str] = {}
        self.measurement_count = 0
        self.step_title = ""
        self._stop_requested = threading.Event()
        self._abort_requested = threading.Event()

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    @property
    def active(self) -> bool:
        return self.state != "finished"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="run-body"):
            yield StepList(id="steps")
            with Vertical(id="run-main"):
                yield StepPanel(id="step")
                yield SweepStatus(id="sweep-status")
                yield TracePlot(id="plot")
                yield MeasurementsTable(id="measurements")
        yield PromptForm(id="prompt")
        yield RunSummary(id="summary")
        yield NoticePanel(id="notices")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"{self.protocol.title} · {self.subject_id}"
        what = "to resume" if self.resume_run_id else "for"
        self.query_one(StepPanel).show_message(
            f"Opening the bench {what} {self.protocol.title}…")
        self.query_one(TracePlot).border_title = "sweep"
        self.query_one(MeasurementsTable).border_title = "measurements"
        self.query_one(StepList).border_title = "steps"
        self.run_engine()

    # ---- the worker thread -------------------------------------------------------

    class PromptTaken(Message):
        """A prompt was answered (by this terminal or, in a live run, another one)."""

        def __init__(self, prompt_id: str) -> None:
            super().__init__()
            self.prompt_id = prompt_id

    def _sink(self, event: Any) -> None:
        """Engine subscriber: runs on the engine thread, so it only posts."""
        self.post_message(EngineEvent(event))
        if isinstance(event, ev.PromptAnswered):
            self.post_message(self.PromptTaken(event.prompt_id))

    def on_run_screen_prompt_taken(self, message: PromptTaken) -> None:
        """A watching terminal drops the question once the controlling one answered it."""
        form = self.query_one(PromptForm)
        if form.prompt is not None and form.prompt.id == message.prompt_id:
            form.clear()
            self.refresh_bindings()

    @work(thread=True, exit_on_error=False, exclusive=True, group="engine", name="engine")
    def run_engine(self) -> None:
        session = None
        try:
            if self.attach_to is not None:
                from edxbench.live.client import connect  # the host's client, when needed

                path, watch = self.attach_to
                session = connect(path, watch=watch, subscribers=[self._sink])
            elif self.resume_run_id is not None:
                session = self.edx.open_resume(self.resume_run_id, prompter=self.prompter,
                                               subscribers=[self._sink])
            else:
                session = self.edx.open_session(self.protocol.path, self.subject_id,
                                                prompter=self.prompter, subscribers=[self._sink])
            self.post_message(SessionOpened(session))
            if self._abort_requested.is_set():
                session.run.request_abort()
            elif self._stop_requested.is_set():
                session.run.request_stop()
            session.run.execute()
            if self.is_live and not session.ended and not self._detached:
                self.post_message(EngineFailed(
                    "Lost the link to the run's engine host",
                    "the run may still be live: re-attach from the start screen (r)"))
        except Exception as exc:
            self.log.error(traceback.format_exc())
            self.post_message(EngineFailed(type(exc).__name__, str(exc) or repr(exc)))
        finally:
            if session is not None:
                try:
                    session.close()
                except Exception as exc:
                    self.log.error(traceback.format_exc())
                    self.post_message(EngineFailed("Closing the bench failed", str(exc)))
            self.post_message(EngineStopped())

    # ---- engine events -----------------------------------------------------------

    def on_session_opened(self, message: SessionOpened) -> None:
        self.session = message.session
        remote = getattr(message.session, "prompter", None)
        if remote is not None:  # a run in an engine host is answered through its client
            self.prompter = remote

    @property
    def is_live(self) -> bool:
        """The run lives in an engine host (edxbench.live), not on this app's thread."""
        return hasattr(self.session, "watching")

    @property
    def _detached(self) -> bool:
        return getattr(self, "_detach_requested", False)

    def detach(self) -> None:
        """Leave a live run: it keeps waiting at its step for any terminal to re-attach."""
        if self.is_live:
            self._detach_requested = True
            self.session.close()

    def action_detach(self) -> None:
        """Back to the start screen; a live run goes on waiting (r there re-attaches)."""
        if self.active and self.is_live:
            self.detach()
            self.dismiss(None)

    def _watching(self) -> bool:
        """True (after saying so) when another terminal holds control of a live run."""
        if not (self.is_live and self.session.watching):
            return False
        with contextlib.suppress(NoMatches):
            self.query_one(NoticePanel).add_notice(
                "warning", "watching — control held by another terminal (t takes control "
                           "once it is free)")
        return True

    def action_pause(self) -> None:
        """Pause after the current instrument action; the run then asks how to go on."""
        if not self.active or self.session is None or self._watching():
            return
        self.session.run.request_pause()
        self.query_one(NoticePanel).add_notice(
            "warning", "Pause requested: the run waits after the current action.")

    def action_take_control(self) -> None:
        if self.active and self.is_live and self.session.watching:
            self.session.run.take_control()

    async def on_engine_event(self, message: EngineEvent) -> None:
        """Show an event; a display bug becomes a notice, never a crash mid-study."""
        try:
            await self._show_event(message.event)
        except Exception as exc:
            self.log.error(traceback.format_exc())
            self.query_one(NoticePanel).add_notice(
                "error", f"could not display {type(message.event).__name__}: {exc}")

    async def _show_event(self, event: Any) -> None:
        if isinstance(event, ev.RunStarted):
            self._run_started(event)
        elif isinstance(event, ev.StepStarted):
            self.query_one(StepList).set_status(event.seq, "running", event.attempt)
            self.query_one(StepPanel).show_step(event.title, event.text, event.diagram,
                                                event.attempt)
            self.step_title = event.title
            self.series.step_started(event.step_id)
            if event.kind in ("stimulate", "series"):
                self.query_one(SweepStatus).step_started()
        elif isinstance(event, ev.PromptRequested):
            form = self.query_one(PromptForm)
            await form.show(event.prompt, self.last_error)
            # The checklist needs the room: the plot has nothing to show before stimulation.
            self.set_class(form.in_checklist, "-checklist")
            self.refresh_bindings()
        elif isinstance(event, ev.SweepRecorded):
            self._sweep_recorded(event)
        elif isinstance(event, ev.StepCompleted):
            self._step_completed(event)
        elif isinstance(event, ev.Notice):
            self.query_one(NoticePanel).add_notice(event.level, event.text, event.at)
            if event.level == "error":
                self.last_error = event.text  # what a following fault prompt is about
        elif isinstance(event, ev.GateOverridden):
            self.query_one(NoticePanel).add_notice(
                "warning", f"safety gate overridden for {event.step_id} "
                           f"({', '.join(event.rules)}): {event.reason}", event.at)
        elif isinstance(event, ev.RunFinished):
            self.final_status = event.status
            self.final_reason = event.reason

    def _run_started(self, event: ev.RunStarted) -> None:
        self.run_id = event.run_id
        self.state = "running"
        self.steps_total = len(event.steps)
        self.series.plans = plans_from_provenance(event.provenance)
        self._step_titles = {s.step_id: s.title for s in event.steps}
        self.query_one(StepList).set_steps(event.steps)
        resumed = " · resumed" if event.resumed else ""
        self.sub_title = (f"{event.protocol_title} · {event.subject_id} · "
                          f"{event.run_id[:8]}{resumed}")
        self.refresh_bindings()

    def _sweep_recorded(self, event: ev.SweepRecorded) -> None:
        """Plot, provisional measures and search progress, all in one handler call."""
        plot = self.query_one(TracePlot)
        sweep = event.sweep
        plot.show_sweep(sweep.volts(), sweep.sample_rate, sweep.t0, event.measures)
        status = self.query_one(SweepStatus)
        series = self.series.record(event.step_id, event.role)
        status.show_sweep(event.current_mA, event.measures, series)
        role = "search sweep" if event.role == "search" else f"{event.role} sweep"
        number = f"{series[1]}/{series[2]}" if series else str(status.sweeps)
        plot.border_title = (f"{event.site or 'sweep'} · {role} {number} · "
                             f"{event.current_mA:.1f} mA")
        self.query_one(MeasurementsTable).show_provisional(
            self.step_title or event.step_id, event.site, provisional_values(event.measures))

    def _step_completed(self, event: ev.StepCompleted) -> None:
        self.set_class(False, "-checklist")
        self.query_one(StepList).set_status(event.seq, event.status)
        if event.status == "done" and any(t.role == "final" for t in event.traces):
            self.marker_step = event.step_id
        if event.status == "done":
            self.steps_done += 1
        table = self.query_one(MeasurementsTable)
        if event.measurements:
            table.add_measurements(event.title, event.measurements)
            self.measurement_count += len(event.measurements)
        else:
            table.clear_provisional()  # skipped or failed: nothing was committed
        self.query_one(SweepStatus).committed(event.title, len(event.measurements))
        if event.status == "failed" and event.reason:
            self.query_one(NoticePanel).add_notice("error", f"{event.title}: {event.reason}",
                                                   event.at)

    def on_engine_failed(self, message: EngineFailed) -> None:
        self.query_one(NoticePanel).add_notice("error", f"{message.title}: {message.detail}")
        if self.final_status is None:
            self.final_status = "failed"
            self.final_reason = message.detail

    def on_engine_stopped(self, _message: EngineStopped) -> None:
        self.state = "finished"
        self.session = None
        form = self.query_one(PromptForm)
        form.clear()
        status = self.final_status or "failed"
        table = self.query_one(MeasurementsTable)
        self.query_one(RunSummary).show_result(
            status, self.final_reason, self.steps_done, self.steps_total,
            self.measurement_count, table.abnormal, can_review=self.run_id is not None)
        self.query_one(StepPanel).show_message(f"Run {status}.")
        self.refresh_bindings()
        self.edx.run_finished(self)

    # ---- answers -----------------------------------------------------------------

    @on(PromptForm.Submitted)
    def _answer(self, message: PromptForm.Submitted) -> None:
        self._deliver(message.prompt_id, message.value)

    def _deliver(self, prompt_id: str, value: Any) -> None:
        """The engine announces a prompt only once it waits for it, so answer at once."""
        form = self.query_one(PromptForm)
        if form.prompt is None or form.prompt.id != prompt_id or not self.active:
            return
        try:
            accepted = self.prompter.answer(prompt_id, value)
        except AnswerError as exc:
            form.show_error(str(exc))
            return
        form.accepted(prompt_id, accepted)
        form.clear()
        self.refresh_bindings()

    # ---- actions -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "review":
            form = self.query_one(PromptForm)
            return form.prompt is not None and form.prompt.kind == "review"
        if action in ("stop", "abort"):
            return self.active
        if action == "markers":
            return self.run_id is not None and self.marker_step is not None
        if action == "review_run":
            return not self.active and self.run_id is not None
        if action == "leave":
            return not self.active
        return True

    def action_review(self, choice: str) -> None:
        form = self.query_one(PromptForm)
        if form.prompt is not None and form.prompt.kind == "review":
            form.submit(choice)

    def action_stop(self) -> None:
        """Finish gracefully: the engine ends after the current action."""
        if not self.active or self._stop_requested.is_set() or self._watching():
            return
        self._stop_requested.set()
        self.query_one(NoticePanel).add_notice("warning", "Stop requested.")
        if self.session is not None:
            self.session.run.request_stop()
        if self.prompter.pending is not None:
            self.prompter.cancel()  # a waiting prompt would otherwise hold the stop forever

    def action_abort(self) -> None:
        if not self.active or self._watching():
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.abort_now()

        self.app.push_screen(ConfirmScreen(
            "Abort this run? Stimulator output is turned off at once and the run is "
            "recorded as aborted.", yes_label="Abort"), confirmed)

    def abort_now(self) -> None:
        """No questions: used after confirmation and on hang-up or quit."""
        if not self.active:
            return
        if self.is_live and (self.edx.hung_up or self.session.watching):
            self.detach()  # a dropped terminal leaves a live run waiting at its step
            return
        first = not self._abort_requested.is_set()
        self._abort_requested.set()
        if self.session is not None:
            self.session.run.request_abort()
        self.prompter.cancel()
        if first and self.is_mounted:
            with contextlib.suppress(NoMatches):
                self.query_one(NoticePanel).add_notice("warning", "Abort requested.")

    def on_unmount(self) -> None:
        """However the app goes away, a blocked engine thread must be released; a live run
        in an engine host is left waiting instead."""
        if self.is_live:
            self.detach()
        else:
            self.abort_now()

    def action_markers(self) -> None:
        """The last accepted sweep's markers, moved and stored on the run detail screen
        (one marker editor for live and stored runs); back here the table shows the
        revised values."""
        if self.run_id is None or self.marker_step is None:
            return
        self.edx.open_run_detail(self.run_id, self.marker_step,
                                 on_close=lambda _: self._reload_measurements())

    @work(thread=True, exit_on_error=False, group="run-measurements")
    def _reload_measurements(self) -> None:
        try:
            run = self.edx.source.run(self.run_id)
        except Exception as exc:
            self.log.error(f"could not reread the measurements: {exc}")
            return
        self.app.call_from_thread(self._show_stored_measurements,
                                  list((run or {}).get("measurements") or []))

    def _show_stored_measurements(self, rows: list[dict[str, Any]]) -> None:
        table = self.query_one(MeasurementsTable)
        table.reset()
        for m in rows:
            step_id = str(m.get("step_id") or "")
            table.add_measurements(self._step_titles.get(step_id, step_id), [m])

    def action_review_run(self) -> None:
        if self.run_id is not None:
            self.edx.open_run_detail(self.run_id)

    def action_leave(self) -> None:
        if not self.active:
            self.dismiss(None)
