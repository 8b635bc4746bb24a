"""What the start screen and the runs list look like at 80×24 (review before updating)."""

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
