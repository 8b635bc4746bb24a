"""One stored run: its steps, measurements with flags, and every trace with its markers.

The run row and each trace are read on a worker thread; traces load only when selected.
Markers move by keys; Enter stores the moved markers with a reason: the trace is
re-measured at once, the edit, the revised values and an audit event are written together,
and the table shows the revised values marked as edited (the originals stay stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui.data import MarkerSaved, current_markers
from tui.markers import MARKER_NAMES, MARKERS, move_on_grid, value_at
from tui.screens.confirm import ConfirmScreen
from tui.screens.reason import ReasonScreen
from tui.widgets.key_footer import KeyFooter
from tui.widgets.marker_panel import MarkerPanel, PendingMove
from tui.widgets.measurements_table import MeasurementsTable
from tui.widgets.run_summary import STATUS_STYLES
from tui.widgets.runs_table import short_time
from tui.widgets.step_list import ICONS
from tui.widgets.trace_plot import TracePlot

if TYPE_CHECKING:
    from tui.app import EdxApp


@dataclass
class TraceMarkers:
    """Automatic, stored (in the record) and current (on screen) marker times (s)."""

    automatic: dict[str, float | None]
    stored: dict[str, float | None] = field(default_factory=dict)
    current: dict[str, float | None] = field(default_factory=dict)

    def pending(self) -> list[PendingMove]:
        return [PendingMove(m, self.stored.get(m), t) for m in MARKERS
                if (t := self.current.get(m)) is not None and t != self.stored.get(m)]


class RunDetailScreen(Screen[None]):
    """Review a finished run; n/p walk through its traces, o/k select a marker."""

    CSS_PATH = "run_detail.tcss"
    SUB_TITLE = "run detail"
    HELP = ("A stored run. n and p select the next or previous trace, plotted negative-up "
            "with its onset (solid) and negative-peak (dotted) markers and baseline. o selects "
            "the onset marker, k the negative-peak marker; ←/→ move it one sample, shift+←/→ "
            "ten, z puts it back where the analysis placed it, Esc deselects. The time and "
            "signal at the marker are shown. Enter stores the moved markers with a reason: "
            "the trace is re-measured at once and revised values are marked * edited (the "
            "original values stay stored). e exports the run (HTML, Markdown, JSON, CSV or "
            "EDF+). Esc goes back.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "trace(1)", "Next"),
        Binding("p", "trace(-1)", "Prev trace", show=False),
        Binding("o", "select_marker('onset')", "Onset"),
        Binding("k", "select_marker('peak')", "Peak"),
        Binding("left", "move_marker(-1)", "−1 sample", show=False, priority=True),
        Binding("right", "move_marker(1)", "+1 sample", show=False, priority=True),
        Binding("shift+left", "move_marker(-10)", "−10 samples", show=False, priority=True),
        Binding("shift+right", "move_marker(10)", "+10 samples", show=False, priority=True),
        Binding("z", "reset_marker", "Auto marker", show=False),
        Binding("enter", "store_markers", "Store", priority=True),
        Binding("e", "export", "Export"),
        Binding("escape", "back", "Back"),
    ]

    class Loaded(Message):
        def __init__(self, run_id: str, run: dict[str, Any] | None, error: str = "",
                     first_trace: Any = None) -> None:
            super().__init__()
            self.run_id = run_id
            self.run = run
            self.error = error
            self.first_trace = first_trace  # read with the run: one message, one paint

    class TraceLoaded(Message):
        def __init__(self, run_id: str, index: int, trace: Any, error: str = "") -> None:
            super().__init__()
            self.run_id = run_id
            self.index = index
            self.trace = trace
            self.error = error

    class MarkersStored(Message):
        def __init__(self, run_id: str, index: int, saved: list[MarkerSaved],
                     error: str = "") -> None:
            super().__init__()
            self.run_id = run_id
            self.index = index
            self.saved = saved
            self.error = error

    def __init__(self, run_id: str, start_step: str | None = None) -> None:
        """start_step: open at that step's accepted sweep (the run screen's last sweep)."""
        super().__init__()
        self.start_step = start_step
        self._forget(run_id)

    def _forget(self, run_id: str) -> None:
        """Everything that belongs to one run; late worker messages carry their run id."""
        self.run_id = run_id
        self.run: dict[str, Any] | None = None
        self.traces: list[dict[str, Any]] = []
        self.trace_index = 0
        self._trace_cache: dict[int, Any] = {}
        self._trace_titles: dict[Any, str] = {}
        self._markers: dict[int, TraceMarkers] = {}
        self.selected_marker: str | None = None
        self.stored_edits: list[dict[str, Any]] = []  # this run's marker edits in the record
        self._stored_note = ""
        self.saving = False
        self.prefetching = False  # the app may start fetch_now before the screen mounts

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"loading run {self.run_id}…", style="dim"), id="detail-info")
        with Horizontal(id="detail-body"):
            yield DataTable(id="detail-steps", cursor_type="row")
            with Vertical(id="detail-main"):
                yield TracePlot(id="detail-plot")
                yield MarkerPanel(id="detail-markers")
                yield MeasurementsTable(id="detail-measurements")
        yield KeyFooter()

    def on_mount(self) -> None:
        steps = self.query_one("#detail-steps", DataTable)
        steps.add_columns(" ", "Step")
        steps.border_title = "steps"
        self.query_one(MeasurementsTable).border_title = "measurements"
        self.query_one(TracePlot).border_title = "traces"
        self.query_one(MeasurementsTable).focus()
        if not self.prefetching:
            self.prefetching = True
            self._fetch_run()

    @work(thread=True, exit_on_error=False, group="detail")
    def _fetch_run(self) -> None:
        self.fetch_now()

    def fetch_now(self) -> None:
        """Blocking (worker threads only): the run and its first trace, posted together so
        the screen lays out and paints once."""
        run_id = self.run_id
        try:
            run = self.edx.source.run(run_id)
        except Exception as exc:
            self.post_message(self.Loaded(run_id, None, f"Could not load run {run_id}: {exc}"))
            return
        if run is None:
            self.post_message(self.Loaded(run_id, None, f"Run {run_id} is not in the database."))
            return
        traces = list(run.get("traces") or [])
        first, error = None, ""
        if traces:
            try:
                first = self.edx.source.trace(traces[0].get("id"))
            except Exception as exc:
                error = f"Could not load trace: {exc}"
        self.post_message(self.Loaded(run_id, run, first_trace=first))
        if traces and first is None:
            self.post_message(self.TraceLoaded(run_id, 0, None, error or
                                               f"trace {traces[0].get('id')} is not stored"))

    @work(thread=True, exit_on_error=False, exclusive=True, group="detail-trace")
    def _fetch_trace(self, run_id: str, index: int, trace_id: Any) -> None:
        self._load_trace(run_id, index, trace_id)

    def _load_trace(self, run_id: str, index: int, trace_id: Any) -> None:
        try:
            trace = self.edx.source.trace(trace_id)
            if trace is None:
                raise LookupError(f"trace {trace_id} is not in the database")
        except Exception as exc:
            self.post_message(self.TraceLoaded(run_id, index, None,
                                               f"Could not load trace: {exc}"))
            return
        self.post_message(self.TraceLoaded(run_id, index, trace))

    def on_run_detail_screen_loaded(self, message: Loaded) -> None:
        if message.run_id != self.run_id:
            return  # a run this reused screen no longer shows
        info = self.query_one("#detail-info", Static)
        if message.run is None:
            info.update(Text(message.error, style="bold red"))
            return
        run = self.run = message.run
        status = str(run.get("status") or "")
        line = Text.assemble(
            (str(run.get("protocol_title") or run.get("protocol_id") or ""), "bold"),
            " · ", str(run.get("subject_id") or ""), " · ",
            short_time(run.get("started_at")), " · ", (status, STATUS_STYLES.get(status, "")))
        if run.get("reason"):
            line.append(f" — {run['reason']}", style="dim")
        line.append_text(impression_line(run))
        info.update(line)
        self.sub_title = f"run {self.run_id}"

        steps = run.get("steps") or []
        titles = {s.get("step_id"): s.get("title") or s.get("step_id") or "" for s in steps}
        step_table = self.query_one("#detail-steps", DataTable)
        for s in steps:
            icon, style = ICONS.get(str(s.get("status")), ICONS["pending"])
            step_table.add_row(Text(icon, style=style), s.get("title") or s.get("step_id") or "")

        self._trace_titles = titles
        self._fill_measurements(0)

        self.traces = list(run.get("traces") or [])
        if message.first_trace is not None:
            self._trace_cache[0] = message.first_trace
        self.stored_edits = list(run.get("marker_edits") or [])
        self._trace_titles = titles
        if self.traces:
            self.select_trace(self._start_index())
        else:
            self.query_one(TracePlot).border_title = "no traces stored"
        self.refresh_bindings()

    def _start_index(self) -> int:
        """The last trace of `start_step`, preferring its accepted (final) sweep; else 0."""
        if self.start_step is None:
            return 0
        of_step = [i for i, t in enumerate(self.traces) if t.get("step_id") == self.start_step]
        finals = [i for i in of_step if self.traces[i].get("role") == "final"]
        return (finals or of_step or [0])[-1]

    def _fill_measurements(self, cursor_row: int) -> None:
        table = self.query_one(MeasurementsTable)
        table.reset()
        titles = self._trace_titles
        for m in (self.run or {}).get("measurements") or []:
            table.add_measurements(str(titles.get(m.get("step_id"), m.get("step_id") or "")),
                                   [m])
        if table.row_count:
            table.move_cursor(row=min(cursor_row, table.row_count - 1), animate=False)

    def select_trace(self, index: int) -> None:
        if not self.traces:
            return
        self.trace_index = index % len(self.traces)
        meta = self.traces[self.trace_index]
        plot = self.query_one(TracePlot)
        current = meta.get("current_mA")
        current_text = f" · {current:.1f} mA" if isinstance(current, int | float) else ""
        plot.border_title = (f"trace {self.trace_index + 1}/{len(self.traces)} · "
                             f"{meta.get('site') or meta.get('step_id') or ''} · "
                             f"{meta.get('role') or ''}{current_text}")
        plot.border_subtitle = str(self._trace_titles.get(meta.get("step_id"), ""))
        if self.trace_index in self._trace_cache:
            self._plot(self._trace_cache[self.trace_index])
        else:
            self._fetch_trace(self.run_id, self.trace_index, meta.get("id"))

    def on_run_detail_screen_trace_loaded(self, message: TraceLoaded) -> None:
        if message.run_id != self.run_id:
            return
        if message.trace is None:
            self.query_one(TracePlot).clear()
            self.notify(message.error, severity="error")
            return
        self._trace_cache[message.index] = message.trace
        if message.index == self.trace_index:
            self._plot(message.trace)

    def _plot(self, trace: Any) -> None:
        measures = getattr(trace, "measures", None) or {}
        plot = self.query_one(TracePlot)
        plot.show_sweep(trace.volts(), trace.sample_rate, trace.t0, measures)
        spec = plot.spec
        assert spec is not None
        markers = self._markers.setdefault(self.trace_index, TraceMarkers(
            automatic={"onset": spec.onset, "peak": spec.peak}))
        first = not markers.current
        if first:
            trace_id = self.traces[self.trace_index].get("id")
            markers.stored = {**markers.automatic, **{
                m: t for m, t in current_markers(measures, self.stored_edits, trace_id).items()
                if t is not None}}
            markers.current = dict(markers.stored)
        self._show_markers()
        if len(self._markers) == 1 and first:
            self.refresh_bindings()  # marker keys become available; the footer recomposes

    # ---- manual markers -----------------------------------------------------------

    @property
    def current_trace(self) -> Any:
        return self._trace_cache.get(self.trace_index)

    def _show_markers(self) -> None:
        """Push marker positions to the plot and the panel (called after every change)."""
        trace = self.current_trace
        markers = self._markers.get(self.trace_index)
        plot = self.query_one(TracePlot)
        if trace is None or markers is None or plot.spec is None:
            return
        plot.set_markers(markers.current.get("onset"), markers.current.get("peak"),
                         self.selected_marker)
        marker = self.selected_marker
        t = markers.current.get(marker) if marker else None
        volts = plot.spec.volts
        value = value_at(volts, t, trace.sample_rate, trace.t0) if t is not None else None
        self.query_one(MarkerPanel).show_marker(
            marker, t, markers.automatic.get(marker) if marker else None, value,
            plot.spec.baseline, markers.pending(), self._stored_note)

    def action_select_marker(self, marker: str) -> None:
        self.selected_marker = None if self.selected_marker == marker else marker
        self._show_markers()
        self.refresh_bindings()

    def action_move_marker(self, samples: int) -> None:
        trace, marker = self.current_trace, self.selected_marker
        markers = self._markers.get(self.trace_index)
        if trace is None or marker is None or markers is None:
            return
        previous = markers.current.get(marker)
        n = int(self.query_one(TracePlot).spec.volts.shape[0])  # type: ignore[union-attr]
        fallback = markers.current.get("onset" if marker == "peak" else "peak")
        new = move_on_grid(previous, samples, n, trace.sample_rate, trace.t0, fallback)
        self._record_edit(marker, previous, new)

    def action_reset_marker(self) -> None:
        markers = self._markers.get(self.trace_index)
        marker = self.selected_marker
        if markers is None or marker is None:
            return
        automatic = markers.automatic.get(marker)
        if automatic is not None and automatic != markers.current.get(marker):
            self._record_edit(marker, markers.current.get(marker), automatic)

    def _record_edit(self, marker: str, previous: float | None, new: float) -> None:
        """Moves stay on screen (pending) until Enter stores them: one edit per marker."""
        markers = self._markers[self.trace_index]
        was_pending = bool(markers.pending())
        markers.current[marker] = new
        self._stored_note = ""
        self._show_markers()
        if was_pending != bool(markers.pending()):
            self.refresh_bindings()

    @property
    def pending_moves(self) -> list[PendingMove]:
        markers = self._markers.get(self.trace_index)
        return markers.pending() if markers is not None else []

    def action_store_markers(self) -> None:
        pending = self.pending_moves
        if not pending or self.saving:
            return
        moves = "; ".join(f"{MARKER_NAMES[p.marker]} {p.new_s * 1e3:.2f} ms" for p in pending)
        index = self.trace_index
        trace_id = self.traces[index].get("id")

        def answered(reason: str | None) -> None:
            if reason:
                self.saving = True
                self._save_markers(self.run_id, index, trace_id, pending, reason)

        self.app.push_screen(ReasonScreen(
            f"Store the moved marker ({moves}) and re-measure this trace. Why was the "
            "automatic placement wrong?", "e.g. onset placed on stimulus artefact"), answered)

    @work(thread=True, exit_on_error=False, group="detail-markers")
    def _save_markers(self, run_id: str, index: int, trace_id: Any, pending: list[PendingMove],
                      reason: str) -> None:
        saved: list[MarkerSaved] = []
        try:
            for move in pending:
                saved.append(self.edx.source.save_marker_edit(run_id, int(trace_id),
                                                              move.marker, move.new_s, reason))
        except Exception as exc:
            self.post_message(self.MarkersStored(run_id, index, saved,
                                                 f"Marker edit not stored: {exc}"))
            return
        self.post_message(self.MarkersStored(run_id, index, saved))

    def on_run_detail_screen_markers_stored(self, message: MarkersStored) -> None:
        if message.run_id != self.run_id:
            return
        self.saving = False
        markers = self._markers.get(message.index)
        trace_id = self.traces[message.index].get("id")
        if message.saved and markers is not None:
            last = message.saved[-1]
            markers.stored = {**markers.stored, **{m: t for m, t in last.markers.items()
                                                   if t is not None}}
            revised = {row["id"]: row for row in last.measurements}
            if self.run is not None:
                self.run["measurements"] = [revised.get(m.get("id"), m)
                                            for m in self.run.get("measurements") or []]
            self.stored_edits.extend({"trace_id": trace_id, "marker": m, "new_s": t}
                                     for s in message.saved for m, t in s.markers.items())
            changed = sum(s.revised for s in message.saved)
            ids = ", ".join(f"#{s.edit_id}" for s in message.saved)
            self._stored_note = (f"Stored edit {ids} with its reason; {changed} value"
                                 f"{'s' if changed != 1 else ''} re-measured or recomputed "
                                 "(* edited).")
            table = self.query_one(MeasurementsTable)
            self._fill_measurements(table.cursor_row)
        if message.error:
            self.notify(message.error, severity="error", timeout=8)
        else:
            self.notify("Marker edit stored and audited; values re-measured.", timeout=4)
        self._show_markers()
        self.refresh_bindings()

    def action_export(self) -> None:
        from tui.screens.export import ExportScreen

        def written(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Exported to {path}", timeout=8)

        self.app.push_screen(ExportScreen(self.run_id), written)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """None (shown, dimmed) rather than False (hidden) while a run loads: the footer
        keeps its keys, so opening a run does not rebuild it (tests/tui/perf_tui.py)."""
        if action == "export":
            return True if self.run is not None else None
        if action == "trace":
            return True if len(self.traces) > 1 else None
        if action in ("move_marker", "reset_marker"):
            return self.selected_marker is not None and self.current_trace is not None
        if action == "store_markers":
            return bool(self.pending_moves) and not self.saving
        if action == "select_marker":
            return True if self.current_trace is not None else None
        return True

    def action_trace(self, step: int) -> None:
        self.select_trace(self.trace_index + step)

    def action_back(self) -> None:
        if self.selected_marker is not None:
            self.action_select_marker(self.selected_marker)  # Esc first deselects
            return
        if any(m.pending() for m in self._markers.values()):
            def discard(yes: bool | None) -> None:
                if yes:
                    self.dismiss(None)

            self.app.push_screen(ConfirmScreen("Moved markers are not stored. Leave and "
                                               "discard the moves?", yes_label="Discard"),
                                 discard)
            return
        self.dismiss(None)


IMPRESSION_CHARS = 160  # two lines at 80 columns; the report has the full text


def impression_line(run: dict[str, Any]) -> Text:
    """The interpretation's impression under the run line, said to be stale when a
    marker was edited after it was made."""
    interpretation = run.get("interpretation")
    if not interpretation:
        return Text()
    impression = " ".join(str(interpretation.get("impression") or "").split())
    if len(impression) > IMPRESSION_CHARS:
        impression = impression[:IMPRESSION_CHARS - 1].rstrip() + "…"
    text = Text.assemble("\n", ("Impression: ", "bold"), impression)
    made = str(interpretation.get("at") or "")
    if any(str(edit.get("at") or "") > made for edit in run.get("marker_edits") or []):
        text.append("  (made before the marker edits: run `edxbench interpret` again)",
                    style="bold yellow")
    return text
