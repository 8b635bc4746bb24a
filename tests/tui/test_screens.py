"""Screens driven by Pilot at 80×24 against a scripted engine and in-memory storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from tests.tui.fakes import FakeFactory, FakeSource
from tests.tui.helpers import prompt_of, screen_of, wait_for, waiting_for
from tui.app import EdxApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.run import RunScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import PAGE_SIZE, RunsScreen
from tui.screens.start import StartScreen, subject_id_error
from tui.widgets.measurements_table import MeasurementsTable
from tui.widgets.notice_panel import NoticePanel
from tui.widgets.prompt_form import PromptForm
from tui.widgets.runs_table import RunsTable
from tui.widgets.step_list import StepList
from tui.widgets.trace_plot import TracePlot

SIZE = (80, 24)


def make_app(tmp_path: Path, factory: FakeFactory | None = None,
             source: FakeSource | None = None) -> EdxApp:
    return EdxApp(tmp_path / "runs.db", fast=True, source=source or FakeSource(),
                  session_factory=factory or FakeFactory())


async def start_fake_run(pilot: Any) -> RunScreen:
    """Keyboard only: Enter on the protocol, Enter on the subject, Enter on Start."""
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query_one("#protocols", OptionList).option_count,
                   what="protocols")
    await pilot.press("enter", "enter", "enter")
    return await screen_of(pilot, RunScreen)


def test_subject_ids_must_be_pseudonyms() -> None:
    assert subject_id_error("normal-adult") is None
    assert subject_id_error("S-0042") is None
    assert subject_id_error("") is not None
    assert subject_id_error("Jane Doe") is not None
    assert subject_id_error("x" * 65) is not None


async def test_start_screen_lists_protocols_and_subjects(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await screen_of(pilot, StartScreen)
        await wait_for(pilot, lambda: screen.query_one("#protocols", OptionList).option_count == 3)
        assert screen.query_one("#subjects", OptionList).option_count == 2
        assert app.focused is screen.query_one("#protocols", OptionList)


async def test_start_refuses_a_real_looking_name(tmp_path: Path) -> None:
    factory = FakeFactory()
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await screen_of(pilot, StartScreen)
        await wait_for(pilot, lambda: screen.query_one("#protocols", OptionList).option_count)
        screen.query_one("#subject-id", Input).focus()
        await pilot.press(*"Jane Doe", "enter")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        assert "pseudonyms" in str(screen.query_one("#start-message").render())
        assert factory.calls == []


async def test_whole_run_by_keyboard(tmp_path: Path) -> None:
    factory = FakeFactory()
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"), what="confirm prompt")
        assert factory.calls[0]["subject_id"] == "normal-adult"
        assert factory.calls[0]["fast"] is True
        assert screen.query_one(StepList).status_of(0) == "running"
        await pilot.press("enter")  # Yes is focused

        await wait_for(pilot, lambda: waiting_for(app, "wrist.review"), what="review")
        assert screen.query_one(TracePlot).spec is not None
        await pilot.press("r")  # repeat once
        await wait_for(pilot, lambda: waiting_for(app, "wrist.review")
                       and factory.sessions[0].run.sweeps == 6, what="second review")
        await pilot.press("a")

        await wait_for(pilot, lambda: waiting_for(app, "distance"), what="number prompt")
        table = screen.query_one(MeasurementsTable)
        assert table.row_count == 2 and table.abnormal == 1
        assert screen.query_one(NoticePanel).count == 1
        await pilot.press("ctrl+u", *"abc", "enter")
        form = screen.query_one(PromptForm)
        await wait_for(pilot, lambda: "expected a number" in str(
            form.query_one("#prompt-error").render()), what="inline error")
        assert waiting_for(app, "distance")  # the prompt stays
        await pilot.press("ctrl+u", *"250", "enter")

        await wait_for(pilot, lambda: waiting_for(app, "method"), what="choice prompt")
        await pilot.press("down", "enter")

        await wait_for(pilot, lambda: not screen.active, what="end of run")
        run = factory.sessions[0].run
        assert run.answers == [("electrodes", True), ("wrist.review", "repeat"),
                               ("wrist.review", "accept"), ("distance", 250.0),
                               ("method", "needle")]
        assert screen.final_status == "completed"
        assert factory.sessions[0].closed
        assert all(screen.query_one(StepList).status_of(i) == "done" for i in range(4))
        assert screen.query_one("#summary").display


async def test_abort_asks_then_aborts(tmp_path: Path) -> None:
    factory = FakeFactory()
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # changed my mind
        await pilot.pause()
        assert screen.active and not factory.sessions[0].run.abort.is_set()
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not screen.active, what="aborted run")
        assert screen.final_status == "aborted"
        assert factory.sessions[0].closed
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))


async def test_stop_while_a_prompt_waits(tmp_path: Path) -> None:
    factory = FakeFactory()
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        await pilot.press("s")
        await wait_for(pilot, lambda: not screen.active)
        assert screen.final_status == "stopped"


async def test_bench_failure_becomes_an_error_panel(tmp_path: Path) -> None:
    factory = FakeFactory(open_error=RuntimeError("stimulator (TCPIP::sim::5025) not answering"))
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: not screen.active, what="failed run")
        notices = screen.query_one(NoticePanel)
        assert notices.display and notices.count == 1
        assert screen.final_status == "failed"
        assert app.is_running and isinstance(app.screen, RunScreen)
        assert not screen.check_action("review_run", ())  # nothing was stored
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))


async def test_engine_exception_mid_run_is_reported(tmp_path: Path) -> None:
    factory = FakeFactory(run_error=ValueError("boom"))
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: not screen.active)
        assert screen.final_status == "failed" and screen.final_reason == "boom"


async def test_runs_list_pages_200_at_a_time(tmp_path: Path) -> None:
    source = FakeSource(n_runs=450)
    app = make_app(tmp_path, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        await pilot.press("l")
        screen = await screen_of(pilot, RunsScreen)
        table = screen.query_one(RunsTable)
        await wait_for(pilot, lambda: table.row_count == PAGE_SIZE, what="first page")
        assert source.page_calls[-1] == (0, PAGE_SIZE + 1, None)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.page_offset == PAGE_SIZE)
        await pilot.press("n")
        await wait_for(pilot, lambda: table.row_count == 50, what="last page")
        assert not screen.check_action("page", (1,))
        await pilot.press("p")
        await wait_for(pilot, lambda: screen.page_offset == PAGE_SIZE and table.row_count == 200)
        assert all(limit == PAGE_SIZE + 1 for _, limit, _ in source.page_calls)
        assert source.rows_served <= len(source.page_calls) * (PAGE_SIZE + 1)

        await pilot.press("slash", *"S-0007", "enter")
        await wait_for(pilot, lambda: table.row_count == 1, what="search result")
        await pilot.press("enter")
        detail = await screen_of(pilot, RunDetailScreen)
        assert detail.run_id == "run-00007"


async def test_run_detail_walks_through_traces(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        app.open_run_detail("run-00001")
        screen = await screen_of(pilot, RunDetailScreen)
        plot = screen.query_one(TracePlot)
        await wait_for(pilot, lambda: plot.spec is not None, what="first trace")
        first_min = float(plot.spec.volts.min())
        assert screen.query_one(MeasurementsTable).abnormal == 1
        assert "1/2" in str(plot.border_title)
        await pilot.press("n")
        await wait_for(pilot, lambda: float(plot.spec.volts.min()) < first_min, what="trace 2")
        assert "2/2" in str(plot.border_title)
        await pilot.press("n")
        await wait_for(pilot, lambda: "1/2" in str(plot.border_title))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))


async def test_missing_run_is_a_message_not_a_crash(tmp_path: Path) -> None:
    source = FakeSource()
    source.run = lambda run_id: None  # type: ignore[method-assign]
    app = make_app(tmp_path, source=source)
    async with app.run_test(size=SIZE) as pilot:
        app.open_run_detail("nope")
        screen = await screen_of(pilot, RunDetailScreen)
        await wait_for(pilot, lambda: "not in the database" in str(
            screen.query_one("#detail-info").render()))


async def test_help_lists_the_keys_of_the_screen_below(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        await pilot.press("f1")
        help_screen = await screen_of(pilot, HelpScreen)
        descriptions = [d for _, d in help_screen.keys]
        assert "Start run" in descriptions and "Past runs" in descriptions
        keys = dict(help_screen.keys)
        assert keys["l / f2"] == "Past runs"  # every key of an action, not only the first
        assert "Symptoms" in descriptions  # hidden from the footer, still listed here
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))


async def test_palette_offers_every_key_action_and_runs_it(tmp_path: Path) -> None:
    from tui.keys import key_actions

    factory = FakeFactory()
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        start = await screen_of(pilot, StartScreen)
        titles = [c.title for c in app.get_system_commands(start)]
        assert {"Start run", "Past runs", "Bench", "Interrupted", "Help",
                "Light/dark theme"} <= set(titles)
        enabled = {k.description for k in key_actions(app, start) if k.enabled}
        assert enabled - {"Quit", "Help", "Light/dark", "palette"} <= set(titles)
        await pilot.press("ctrl+p")  # the real palette, by keyboard
        await pilot.pause(0.2)
        await pilot.press(*"Past runs")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await screen_of(pilot, RunsScreen)
        await pilot.press("escape")
        await screen_of(pilot, StartScreen)
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        titles = [c.title for c in app.get_system_commands(screen)]
        assert {"Stop", "Abort"} <= set(titles) and "Start run" not in titles
        assert "Past runs" not in titles  # not while a study runs


async def test_theme_toggles_between_light_and_dark(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is not dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is dark


async def test_quit_mid_run_asks_and_aborts(tmp_path: Path) -> None:
    factory = FakeFactory()
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert factory.sessions[0].run.abort.is_set()
    assert app.return_code == 0


async def test_hang_up_aborts_and_exits(tmp_path: Path) -> None:
    factory = FakeFactory()
    app = make_app(tmp_path, factory)
    async with app.run_test(size=SIZE) as pilot:
        await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        app._hang_up()
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert factory.sessions[0].run.abort.is_set() and app.hung_up


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_plot_widget_fills_its_box(tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: waiting_for(app, "wrist.review"))
        plot = screen.query_one(TracePlot)
        await pilot.pause()
        width, height = plot.size
        lines = [plot.render_line(y) for y in range(height)]
        assert all(strip.cell_length == width for strip in lines)
        text = "".join(seg.text for strip in lines for seg in strip)
        assert "onset" in text and "ms" in text
        assert prompt_of(app).kind == "review"


async def test_provisional_measures_then_committed_values_replace_them(tmp_path: Path) -> None:
    from tui.widgets.sweep_status import SweepStatus

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        steps = screen.query_one(StepList)
        assert str(steps.border_subtitle).startswith("0/4")
        await pilot.press("enter")
        await wait_for(pilot, lambda: waiting_for(app, "wrist.review"))
        table = screen.query_one(MeasurementsTable)
        assert table.provisional_count == 6 and table.row_count == 6  # one sweep's worth
        status = str(screen.query_one(SweepStatus).render())
        assert "#3 15.0 mA" in status and "amp 8.00 mV" in status and "provisional" in status
        assert "search sweep 3" in str(screen.query_one(TracePlot).border_title)
        assert "15.0 mA" in str(screen.query_one(TracePlot).border_title)
        await pilot.press("a")
        await wait_for(pilot, lambda: waiting_for(app, "distance"))
        assert table.provisional_count == 0 and table.row_count == 2
        assert str(steps.border_subtitle).startswith("2/4")
        assert "committed" in str(screen.query_one(SweepStatus).render())


async def test_markers_move_by_keys_and_moves_are_pending_until_stored(tmp_path: Path) -> None:
    from tests.tui.fakes import FS
    from tui.widgets.marker_panel import MarkerPanel

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        app.open_run_detail("run-00001")
        screen = await screen_of(pilot, RunDetailScreen)
        plot = screen.query_one(TracePlot)
        await wait_for(pilot, lambda: plot.spec is not None, what="first trace")
        table = screen.query_one(MeasurementsTable)
        cursor = table.cursor_coordinate
        await pilot.press("o")
        assert screen.selected_marker == "onset" and plot.spec.selected == "onset"
        panel = screen.query_one(MarkerPanel)
        assert panel.display and "onset marker 3.50 ms" in str(panel.render())
        await pilot.press("right", "right", "shift+right")
        assert abs(plot.spec.onset - (0.0035 + 12 / FS)) < 1e-9
        assert table.cursor_coordinate == cursor  # arrows moved the marker, not the table
        [move] = screen.pending_moves  # one pending move, whatever the number of keys
        assert move.marker == "onset" and abs(move.stored_s - 0.0035) < 1e-12
        text = str(panel.render())
        assert "4.10 ms" in text and "NOT stored" in text and "signal" in text
        await pilot.press("k", "shift+left")
        assert screen.selected_marker == "peak" and len(screen.pending_moves) == 2
        assert abs(plot.spec.peak - (0.0075 - 10 / FS)) < 1e-9
        await pilot.press("z")
        assert abs(plot.spec.peak - 0.0075) < 1e-12 and len(screen.pending_moves) == 1
        await pilot.press("escape")  # deselects first
        assert screen.selected_marker is None and isinstance(app.screen, RunDetailScreen)
        await pilot.press("escape")  # a pending move: asks before discarding it
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert isinstance(app.screen, RunDetailScreen)
        await pilot.press("escape", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
