"""Review flows by keyboard: filters, side-by-side comparison, resuming, the bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Checkbox, DataTable, Input, OptionList, Select

from tests.tui.fakes import FakeFactory, FakeSource
from tests.tui.helpers import screen_of, screen_text, wait_for, waiting_for
from tui.app import EdxApp
from tui.data import RunFilter
from tui.screens.bench import BenchScreen
from tui.screens.compare import CompareScreen, common_sites, pick_trace
from tui.screens.run import RunScreen
from tui.screens.runs import RunsScreen
from tui.screens.start import StartScreen
from tui.widgets.measurements_table import MeasurementsTable
from tui.widgets.runs_table import RunsTable
from tui.widgets.trace_plot import TracePlot

SIZE = (80, 24)


def make_app(tmp_path: Path, source: FakeSource | None = None,
             resume: FakeFactory | None = None) -> EdxApp:
    return EdxApp(tmp_path / "runs.db", fast=True, source=source or FakeSource(n_runs=60),
                  session_factory=FakeFactory(), resume_factory=resume or FakeFactory())


async def open_list(pilot: Any) -> RunsScreen:
    await screen_of(pilot, StartScreen)
    await pilot.press("l")
    runs = await screen_of(pilot, RunsScreen)
    await wait_for(pilot, lambda: runs.query_one(RunsTable).row_count > 0, what="first page")
    return runs


async def test_filters_by_status_protocol_subject_and_abnormal(tmp_path: Path) -> None:
    source = FakeSource(n_runs=60)
    app = make_app(tmp_path, source)
    async with app.run_test(size=SIZE) as pilot:
        runs = await open_list(pilot)
        table = runs.query_one(RunsTable)
        assert table.row_count == 60

        await pilot.press("a")  # abnormal only
        await wait_for(pilot, lambda: runs.filters.abnormal_only and not runs.fetching)
        assert table.row_count == 45 and all(int(r["abnormal_count"]) for r in runs.rows)

        runs.query_one("#runs-status", Select).value = "interrupted"
        await wait_for(pilot, lambda: runs.filters.status == "interrupted" and not runs.fetching)
        assert {r["status"] for r in runs.rows} == {"interrupted"}

        await wait_for(pilot, lambda: runs.query_one("#runs-protocol", Select)._options[1:])
        runs.query_one("#runs-protocol", Select).value = "ulnar-motor"
        await wait_for(pilot, lambda: runs.filters.protocol_id == "ulnar-motor"
                       and not runs.fetching)
        assert {r["protocol_id"] for r in runs.rows} == {"ulnar-motor"}

        runs.query_one("#runs-subject", Input).focus()
        await pilot.press(*"S-0015", "enter")
        await wait_for(pilot, lambda: runs.filters.subject_id == "S-0015" and not runs.fetching)
        assert [r["id"] for r in runs.rows] == ["run-00015"]
        assert source.filters[-1] == RunFilter(status="interrupted", protocol_id="ulnar-motor",
                                               subject_id="S-0015", abnormal_only=True)
        assert isinstance(app.focused, DataTable)
        assert runs.query_one("#runs-abnormal", Checkbox).value


async def test_two_marked_runs_open_side_by_side_on_one_scale(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        runs = await open_list(pilot)
        assert not runs.check_action("compare", ())
        await pilot.press("space", "down", "down", "space")
        assert runs.marked == ["run-00059", "run-00057"]
        assert "◆" in screen_text(app)
        await pilot.press("c")
        compare = await screen_of(pilot, CompareScreen)
        left = compare.query_one("#left-plot", TracePlot)
        right = compare.query_one("#right-plot", TracePlot)
        await wait_for(pilot, lambda: left.spec is not None and right.spec is not None,
                       what="both traces")
        assert left.spec.y_range == right.spec.y_range is not None
        assert compare.site == "wrist" and "final" in str(left.border_title)
        for side in ("left", "right"):
            table = compare.query_one(f"#{side}-measurements", MeasurementsTable)
            assert table.row_count == 2 and table.abnormal == 1
        text = screen_text(app)
        assert "LEFT" in text and "RIGHT" in text and "S-0059" in text and "S-0057" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))


def test_compare_picks_the_accepted_trace_of_a_shared_site() -> None:
    left = [{"id": 1, "site": "wrist", "role": "search"}, {"id": 2, "site": "wrist",
                                                          "role": "final"},
            {"id": 3, "site": "elbow", "role": "final"}]
    right = [{"id": 7, "site": "elbow", "role": "final"}]
    assert common_sites(left, right) == ["elbow"]
    assert pick_trace(left, "wrist") == {"id": 2, "site": "wrist", "role": "final"}
    assert pick_trace(right, "wrist") is None
    assert common_sites(left, []) == ["wrist", "elbow"]


async def test_interrupted_runs_are_announced_and_resume_through_the_run_screen(
        tmp_path: Path) -> None:
    resume = FakeFactory()
    app = make_app(tmp_path, FakeSource(n_runs=30), resume)
    async with app.run_test(size=SIZE) as pilot:
        start = await screen_of(pilot, StartScreen)
        await wait_for(pilot, lambda: start.interrupted, what="interrupted check")
        assert "3 interrupted runs" in screen_text(app)
        await pilot.press("i")
        runs = await screen_of(pilot, RunsScreen)
        await wait_for(pilot, lambda: runs.rows and not runs.fetching)
        assert runs.filters.status == "interrupted"
        assert {r["status"] for r in runs.rows} == {"interrupted"}
        assert runs.check_action("resume", ())
        await pilot.press("R")
        screen = await screen_of(pilot, RunScreen)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"), what="resumed prompt")
        assert screen.resume_run_id == "run-00025"
        call = resume.calls[0]
        assert call["protocol_path"] == "run-00025" and call["fast"] is True
        assert call["db_path"] == tmp_path / "runs.db" and "prompter" in call
        await pilot.press("ctrl+x", "y")
        await wait_for(pilot, lambda: not screen.active)


async def test_completed_runs_cannot_be_resumed(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        runs = await open_list(pilot)
        assert runs.rows[0]["status"] == "completed"
        assert not runs.check_action("resume", ())


async def test_bench_screen_shows_identities_and_errors(tmp_path: Path) -> None:
    source = FakeSource()
    app = make_app(tmp_path, source)
    async with app.run_test(size=SIZE) as pilot:
        start = await screen_of(pilot, StartScreen)
        await wait_for(pilot, lambda: start.query_one("#protocols", OptionList).option_count)
        await pilot.press("b")
        bench = await screen_of(pilot, BenchScreen)
        await wait_for(pilot, lambda: bench.info is not None, what="bench info")
        table = bench.query_one("#bench-instruments", DataTable)
        assert table.row_count == 3
        text = screen_text(app)
        assert "33522B" in text and "connected" in text and "no answer" in text
        assert "max_current_mA" in text
        source.bench_error = RuntimeError("scope (TCPIP::10.0.0.7::inst0) timed out")
        await pilot.press("r")
        await wait_for(pilot, lambda: bench.error, what="bench error")
        assert "not connected" in screen_text(app) and source.bench_checks == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
