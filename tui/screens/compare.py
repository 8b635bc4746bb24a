"""Two runs side by side: before and after, left and right.

Both runs' measurement tables, and the accepted trace of one chosen site from each,
plotted on one shared amplitude scale so a smaller response looks smaller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from tui.braille import auto_y_range
from tui.widgets.key_footer import KeyFooter
from tui.widgets.measurements_table import MeasurementsTable
from tui.widgets.run_summary import STATUS_STYLES
from tui.widgets.runs_table import short_time
from tui.widgets.trace_plot import TracePlot

if TYPE_CHECKING:
    from tui.app import EdxApp

SIDES = ("left", "right")


def pick_trace(traces: list[dict[str, Any]], site: str) -> dict[str, Any] | None:
    """The accepted (final) trace at a site, else the last one recorded there."""
    at_site = [t for t in traces if (t.get("site") or t.get("step_id")) == site]
    finals = [t for t in at_site if t.get("role") == "final"]
    return (finals or at_site or [None])[-1]


def common_sites(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> list[str]:
    """Sites both runs have traces for, in the left run's order; else all sites."""
    def sites(traces: list[dict[str, Any]]) -> list[str]:
        return list(dict.fromkeys(str(t.get("site") or t.get("step_id") or "") for t in traces))

    shared = [s for s in sites(left) if s in set(sites(right))]
    return shared or list(dict.fromkeys(sites(left) + sites(right)))


class CompareScreen(Screen[None]):
    """Left run and right run; [ and ] choose the site whose traces are shown."""

    CSS_PATH = "compare.tcss"
    SUB_TITLE = "compare runs"
    HELP = ("Two stored runs side by side: each run's measurements with flags, and the "
            "accepted trace of the chosen site from both, on one shared amplitude scale "
            "(negative up). [ and ] choose the site; Tab moves between the tables; "
            "Esc goes back.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "site(1)", "Next site"),
        Binding("left_square_bracket", "site(-1)", "Prev site"),
        Binding("escape", "back", "Back"),
    ]

    class Loaded(Message):
        def __init__(self, side: str, run: dict[str, Any] | None, error: str = "") -> None:
            super().__init__()
            self.side = side
            self.run = run
            self.error = error

    class TraceLoaded(Message):
        def __init__(self, side: str, site: str, trace: Any, error: str = "") -> None:
            super().__init__()
            self.side = side
            self.site = site
            self.trace = trace
            self.error = error

    def __init__(self, left_id: str, right_id: str) -> None:
        super().__init__()
        self.run_ids = {"left": left_id, "right": right_id}
        self.runs: dict[str, dict[str, Any]] = {}
        self.sites: list[str] = []
        self.site_index = 0
        self.shown: dict[str, Any] = {}  # side -> trace on screen for the current site

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    @property
    def site(self) -> str | None:
        return self.sites[self.site_index] if self.sites else None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="compare-body"):
            for side in SIDES:
                with Vertical(classes="compare-side", id=f"compare-{side}"):
                    yield Static(Text(f"loading {self.run_ids[side]}…", style="dim"),
                                 id=f"{side}-info", classes="compare-info")
                    yield TracePlot(id=f"{side}-plot", classes="compare-plot")
                    yield MeasurementsTable(id=f"{side}-measurements",
                                            classes="compare-measurements")
        yield KeyFooter()

    def on_mount(self) -> None:
        for side in SIDES:
            self.query_one(f"#{side}-measurements", MeasurementsTable).border_title = side
            self._fetch_run(side, self.run_ids[side])
        self.query_one("#left-measurements", MeasurementsTable).focus()

    @work(thread=True, exit_on_error=False, group="compare")
    def _fetch_run(self, side: str, run_id: str) -> None:
        try:
            run = self.edx.source.run(run_id)
        except Exception as exc:
            self.post_message(self.Loaded(side, None, f"Could not load run {run_id}: {exc}"))
            return
        self.post_message(self.Loaded(side, run, "" if run else f"Run {run_id} is not stored."))

    @work(thread=True, exit_on_error=False, group="compare-trace")
    def _fetch_trace(self, side: str, site: str, trace_id: Any) -> None:
        try:
            trace = self.edx.source.trace(trace_id)
        except Exception as exc:
            self.post_message(self.TraceLoaded(side, site, None, f"Could not load trace: {exc}"))
            return
        self.post_message(self.TraceLoaded(side, site, trace))

    def on_compare_screen_loaded(self, message: Loaded) -> None:
        info = self.query_one(f"#{message.side}-info", Static)
        if message.run is None:
            info.update(Text(message.error, style="bold red"))
            return
        run = self.runs[message.side] = message.run
        status = str(run.get("status") or "")
        info.update(Text.assemble(
            (f"{message.side.upper()} ", "bold reverse"), " ",
            (str(run.get("protocol_title") or run.get("protocol_id") or ""), "bold"), "\n",
            str(run.get("subject_id") or ""), " · ", short_time(run.get("started_at")), " · ",
            (status, STATUS_STYLES.get(status, ""))))
        titles = {s.get("step_id"): s.get("title") or s.get("step_id") or ""
                  for s in run.get("steps") or []}
        table = self.query_one(f"#{message.side}-measurements", MeasurementsTable)
        for m in run.get("measurements") or []:
            table.add_measurements(str(titles.get(m.get("step_id"), m.get("step_id") or "")),
                                   [m])
        if table.row_count:
            table.move_cursor(row=0, animate=False)
        if len(self.runs) == 2:
            self.sites = common_sites(list(self.runs["left"].get("traces") or []),
                                      list(self.runs["right"].get("traces") or []))
            self.show_site(0)

    def show_site(self, index: int) -> None:
        if not self.sites:
            for side in SIDES:
                self.query_one(f"#{side}-plot", TracePlot).border_title = "no traces"
            return
        self.site_index = index % len(self.sites)
        self.shown = {}
        site = self.sites[self.site_index]
        for side in SIDES:
            plot = self.query_one(f"#{side}-plot", TracePlot)
            meta = pick_trace(list(self.runs[side].get("traces") or []), site)
            if meta is None:
                plot.clear()
                plot.border_title = f"{site}: no trace"
                self.shown[side] = None
                continue
            current = meta.get("current_mA")
            current_text = f" · {current:.1f} mA" if isinstance(current, int | float) else ""
            plot.border_title = (f"{site} · {meta.get('role') or ''}{current_text} "
                                 f"({self.site_index + 1}/{len(self.sites)})")
            self._fetch_trace(side, site, meta.get("id"))
        self.refresh_bindings()

    def on_compare_screen_trace_loaded(self, message: TraceLoaded) -> None:
        if message.site != self.site:
            return  # the operator moved on to another site
        if message.trace is None:
            self.notify(message.error, severity="error")
            self.shown[message.side] = None
        else:
            self.shown[message.side] = message.trace
        if len(self.shown) < len(SIDES):
            return
        # Both sides in: one amplitude scale for both, so sizes compare at a glance.
        loaded = [t for t in self.shown.values() if t is not None]
        if not loaded:
            return
        y_range = auto_y_range(np.concatenate([t.volts() for t in loaded]))
        for side, trace in self.shown.items():
            if trace is not None:
                self.query_one(f"#{side}-plot", TracePlot).show_sweep(
                    trace.volts(), trace.sample_rate, trace.t0,
                    getattr(trace, "measures", None) or {}, y_range=y_range)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "site":
            return len(self.sites) > 1
        return True

    def action_site(self, step: int) -> None:
        self.show_site(self.site_index + step)

    def action_back(self) -> None:
        self.dismiss(None)
