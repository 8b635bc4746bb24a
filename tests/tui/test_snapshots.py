"""What the key screens look like (80×24 and 100×32): start, runs list, run with a live
sweep, safety checklist, run detail with a moved marker, help, compare, bench. Review every
changed snapshot before updating it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import OptionList

from tests.tui.fakes import FakeFactory, FakeSource
from tests.tui.helpers import screen_of, wait_for
from tui.app import EdxApp
from tui.screens.runs import RunsScreen
from tui.screens.start import StartScreen
from tui.widgets.runs_table import RunsTable


def make_app() -> EdxApp:
    return EdxApp(Path("/nonexistent/snapshot.db"), source=FakeSource(n_runs=30),
                  session_factory=FakeFactory())


def test_start_screen(snap_compare: Any) -> None:
    async def loaded(pilot: Any) -> None:
        start = await screen_of(pilot, StartScreen)
        await wait_for(pilot, lambda: start.query_one("#subjects", OptionList).option_count)
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=loaded)


def test_runs_list(snap_compare: Any) -> None:
    async def listed(pilot: Any) -> None:
        await screen_of(pilot, StartScreen)
        await pilot.press("l")
        runs = await screen_of(pilot, RunsScreen)
        await wait_for(pilot, lambda: runs.query_one(RunsTable).row_count == 30)
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=listed)


def frozen_app(**kwargs: Any) -> EdxApp:
    """Deterministic inputs: the fakes' sweeps are noise-free and fixed, seeds pinned."""
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)
    return EdxApp(Path("/nonexistent/snapshot.db"), source=FakeSource(n_runs=30),
                  session_factory=FakeFactory(**kwargs))


def test_run_screen_mid_study_with_a_sweep(snap_compare: Any) -> None:
    from tests.tui.helpers import waiting_for
    from tests.tui.test_screens import start_fake_run

    async def reviewing(pilot: Any) -> None:
        await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(pilot.app, "electrodes"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: waiting_for(pilot.app, "wrist.review"))
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(100, 32), run_before=reviewing)


def test_safety_checklist_form(snap_compare: Any) -> None:
    from tests.tui.helpers import waiting_for
    from tests.tui.test_screens import start_fake_run

    async def second_item(pilot: Any) -> None:
        await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(pilot.app, "checklist.side"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: waiting_for(pilot.app, "checklist.anticoagulation"))
        await pilot.pause()

    assert snap_compare(frozen_app(safety=True), terminal_size=(80, 24), run_before=second_item)


def test_run_detail_with_a_moved_marker(snap_compare: Any) -> None:
    from tui.screens.run_detail import RunDetailScreen
    from tui.widgets.trace_plot import TracePlot

    async def moved(pilot: Any) -> None:
        await screen_of(pilot, StartScreen)
        pilot.app.open_run_detail("run-00001")
        detail = await screen_of(pilot, RunDetailScreen)
        plot = detail.query_one(TracePlot)
        await wait_for(pilot, lambda: plot.spec is not None)
        await pilot.press("o", "shift+right")
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(100, 32), run_before=moved)


def test_help_of_the_run_detail(snap_compare: Any) -> None:
    from tui.screens.help import HelpScreen
    from tui.screens.run_detail import RunDetailScreen

    async def help_open(pilot: Any) -> None:
        await screen_of(pilot, StartScreen)
        pilot.app.open_run_detail("run-00001")
        await screen_of(pilot, RunDetailScreen)
        await pilot.press("f1")
        await screen_of(pilot, HelpScreen)
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=help_open)


def test_compare_two_runs(snap_compare: Any) -> None:
    from tui.screens.compare import CompareScreen
    from tui.widgets.trace_plot import TracePlot

    async def side_by_side(pilot: Any) -> None:
        await screen_of(pilot, StartScreen)
        pilot.app.open_compare("run-00003", "run-00001")
        compare = await screen_of(pilot, CompareScreen)
        await wait_for(pilot, lambda: all(p.spec is not None
                                          for p in compare.query(TracePlot)))
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(100, 32), run_before=side_by_side)


class CheckedBenchSource(FakeSource):
    """The fake bench with a stored bench check that failed one check."""

    def latest_bench_check(self, profile: str) -> dict[str, Any]:
        checks = [("pulse-10", "Routine pulse (10 mA, 0.2 ms) into the 1 kΩ load", "pass"),
                  ("gain", "Amplifier gain (1 mV calibration square wave)", "pass"),
                  ("noise", "Noise floor (inputs shorted)", "fail")]
        return {"run_id": "bc-00001-0000", "bench_profile": profile, "status": "completed",
                "started_at": "2026-01-02T08:00:00+00:00",
                "finished_at": "2026-01-02T08:01:00+00:00", "outcome": "fail",
                "checks": [{"step_id": s, "title": t, "outcome": o, "measurements": []}
                           for s, t, o in checks]}


def test_bench_screen(snap_compare: Any) -> None:
    from tui.screens.bench import BenchScreen

    async def checked(pilot: Any) -> None:
        await screen_of(pilot, StartScreen)
        pilot.app.open_bench()
        bench = await screen_of(pilot, BenchScreen)
        await wait_for(pilot, lambda: bench.info is not None and bench.validation is not None)
        await pilot.pause()

    app = EdxApp(Path("/nonexistent/snapshot.db"), source=CheckedBenchSource(n_runs=3),
                 session_factory=FakeFactory())
    assert snap_compare(app, terminal_size=(80, 24), run_before=checked)
