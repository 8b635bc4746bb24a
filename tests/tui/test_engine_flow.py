"""The whole study through the app: real engine, simulated bench, SQLite in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from tests.tui.helpers import prompt_of, screen_of, wait_for
from tui.app import EdxApp
from tui.screens.run import RunScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.screens.start import StartScreen
from tui.widgets.measurements_table import MeasurementsTable
from tui.widgets.runs_table import RunsTable
from tui.widgets.trace_plot import TracePlot

pytest.importorskip("instruments.bench")
pytest.importorskip("edxbench.session")
pytestmark = pytest.mark.timeout(240)


async def test_median_motor_on_normal_adult_then_review(tmp_path: Path) -> None:
    app = EdxApp(tmp_path / "edx.db", bench_profile="sim", fast=True)
    async with app.run_test(size=(80, 24)) as pilot:
        start = await screen_of(pilot, StartScreen)
        protocols = start.query_one("#protocols", OptionList)
        await wait_for(pilot, lambda: protocols.option_count > 0, what="protocol list")
        ids = [p.id for p in start.protocols]
        assert "median-motor" in ids
        protocols.highlighted = ids.index("median-motor")
        await pilot.press("enter")
        subjects = start.query_one("#subjects", OptionList)
        names = [str(subjects.get_option_at_index(i).prompt)
                 for i in range(subjects.option_count)]
        subjects.highlighted = names.index("normal-adult")
        await pilot.press("enter", "enter")
        run_screen = await screen_of(pilot, RunScreen, timeout=30)

        # Answer every prompt as an operator with a normal subject would: defaults, and
        # accept each recorded sweep.
        kinds: list[str] = []
        while run_screen.active:
            prompt = await wait_for(pilot, lambda: prompt_of(app) or not run_screen.active,
                                    timeout=60, what="next prompt or end")
            if prompt is True or not run_screen.active:
                break
            kinds.append(prompt.kind)
            await pilot.press("a" if prompt.kind == "review" else "enter")
            await wait_for(pilot, lambda p=prompt: prompt_of(app) is not p
                           or not run_screen.active, timeout=60, what=f"{prompt.id} taken")

        assert run_screen.final_status == "completed", run_screen.final_reason
        assert kinds.count("review") == 2  # wrist and elbow
        assert run_screen.query_one(TracePlot).spec is not None
        table = run_screen.query_one(MeasurementsTable)
        assert table.row_count >= 13
        run_id = run_screen.run_id
        assert run_id

        # Back to the start, open the list, open this run.
        await pilot.press("escape")
        await screen_of(pilot, StartScreen)
        await pilot.press("l")
        runs = await screen_of(pilot, RunsScreen)
        runs_table = runs.query_one(RunsTable)
        await wait_for(pilot, lambda: runs_table.row_count == 1, what="stored run listed")
        assert runs_table.selected_run_id == run_id
        await pilot.press("enter")
        detail = await screen_of(pilot, RunDetailScreen)
        plot = detail.query_one(TracePlot)
        await wait_for(pilot, lambda: plot.spec is not None, timeout=20, what="first trace")
        assert len(detail.traces) >= 2
        assert detail.query_one(MeasurementsTable).row_count == table.row_count
        first = plot.spec
        await pilot.press("p")  # wraps to the last trace: the accepted elbow sweep
        await wait_for(pilot, lambda: plot.spec is not first, timeout=20, what="last trace")
        assert plot.spec.onset is not None and plot.spec.peak is not None
