"""The run screen with the real engine on the simulated bench: an instrument fault shows
the red fault panel and retry runs the step again; the F-wave series counts 1/20 … 20/20
while the whole-run bar advances."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edxbench.session import open_session
from tests.tui.helpers import prompt_of, screen_of, screen_text, wait_for
from tui.app import EdxApp
from tui.data import ProtocolEntry
from tui.progress import SeriesCounter, SeriesPlan, plans_from_provenance
from tui.screens.run import RunScreen
from tui.screens.start import StartScreen
from tui.widgets.fault_panel import FaultPanel
from tui.widgets.step_list import StepList
from tui.widgets.sweep_status import SweepStatus

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


def test_series_counter_wraps_repeated_averages_and_ignores_other_roles() -> None:
    counter = SeriesCounter({"d2": SeriesPlan("averaging", 4, ("raw",)),
                             "rns": SeriesPlan("RNS", 20, prefix="train-")})
    counter.step_started("d2")
    assert counter.record("d2", "search") is None
    assert [counter.record("d2", "raw") for _ in range(5)][-2:] == [
        ("averaging", 4, 4), ("averaging", 1, 4)]  # a repeat starts over
    assert counter.record("d2", "final") is None
    counter.step_started("rns")
    assert counter.record("rns", "train-post-exercise") == ("RNS", 1, 20)
    assert counter.record("other", "series") is None


def test_plans_come_from_the_protocol_a_run_carries() -> None:
    text = (ROOT / "protocols" / "rns.yaml").read_text()
    plans = plans_from_provenance({"protocol_text": text, "protocol_path": "rns.yaml"})
    [(step_id, plan)] = plans.items()
    assert step_id == "trains"
    assert plan.label == "RNS" and plan.total % 10 == 0 and plan.counts("train-rest")
    assert plans_from_provenance({"protocol_text": "steps: [", "protocol_path": "x"}) == {}


def faulty_session(*args: Any, **kwargs: Any) -> Any:
    """The real session, with the scope dropping its first waveform transfer."""
    session = open_session(*args, **kwargs)
    session.bench.subject_link.inject_fault("scope", "drop", 1, 0, "WAV:DATA")
    return session


async def test_fault_retry_and_f_wave_progress(tmp_path: Path) -> None:
    app = EdxApp(tmp_path / "edx.db", fast=True, session_factory=faulty_session)
    shown: list[tuple[str, int, int] | None] = []
    bars: list[str] = []
    async with app.run_test(size=(100, 32)) as pilot:
        await screen_of(pilot, StartScreen)
        app.start_run(ProtocolEntry("median-f-waves", "Median F-waves",
                                    ROOT / "protocols" / "median_f_waves.yaml"), "normal-adult")
        screen = await screen_of(pilot, RunScreen, timeout=30)
        status = screen.query_one(SweepStatus)
        original = status.show_sweep

        def spy(current: float, measures: dict[str, Any],
                series: tuple[str, int, int] | None = None) -> None:
            shown.append(series)
            original(current, measures, series)
            if series is not None and series[1] == series[2]:
                bars.append(str(status.render()))

        status.show_sweep = spy  # type: ignore[method-assign]
        faults = 0
        while screen.active:
            prompt = await wait_for(pilot, lambda: prompt_of(app) or not screen.active,
                                    timeout=60, what="next prompt or end")
            if prompt is True or not screen.active:
                break
            if prompt.id.endswith(".fault"):
                faults += 1
                panel = screen.query_one(FaultPanel)
                assert panel.display and "scope" in str(panel.render())
                text = await wait_for(pilot, lambda: "INSTRUMENT FAULT" in screen_text(app)
                                      and screen_text(app), what="fault panel painted")
                assert "retry" in text and "skip" in text and "abort" in text
                await pilot.press("up", "up", "enter")  # from the default (abort) to retry
            else:
                await pilot.press("a" if prompt.kind == "review" else "enter")
            await wait_for(pilot, lambda p=prompt: prompt_of(app) is not p
                           or not screen.active, timeout=60, what=f"{prompt.id} taken")
        assert screen.final_status == "completed", screen.final_reason
        steps = screen.query_one(StepList)
        assert steps.finished == screen.steps_total
        assert str(steps.border_subtitle).startswith(f"{steps.finished}/{steps.finished} ")
    assert faults == 1
    series = [s for s in shown if s is not None]
    assert series == [("F-waves", n, 20) for n in range(1, 21)]
    assert bars and "F-waves 20/20" in bars[-1]


async def test_last_sweep_markers_are_stored_from_the_run_screen(tmp_path: Path) -> None:
    from textual.widgets import Input

    from tui.screens.reason import ReasonScreen
    from tui.screens.run_detail import RunDetailScreen
    from tui.widgets.measurements_table import MeasurementsTable

    app = EdxApp(tmp_path / "edx.db", fast=True)
    async with app.run_test(size=(100, 32)) as pilot:
        await screen_of(pilot, StartScreen)
        app.start_run(ProtocolEntry("median-motor", "Median motor",
                                    ROOT / "protocols" / "median_motor.yaml"), "normal-adult")
        screen = await screen_of(pilot, RunScreen, timeout=30)
        while screen.marker_step is None:  # until the wrist sweep is accepted and stored
            prompt = await wait_for(pilot, lambda: prompt_of(app), timeout=60, what="prompt")
            await pilot.press("a" if prompt.kind == "review" else "enter")
            await wait_for(pilot, lambda p=prompt: prompt_of(app) is not p, timeout=60)
        assert screen.marker_step == "wrist"
        await wait_for(pilot, lambda: "Markers" in screen_text(app), what="m key shown")
        await pilot.press("m")
        detail = await screen_of(pilot, RunDetailScreen)
        await wait_for(pilot, lambda: detail.current_trace is not None, what="wrist sweep")
        assert detail.traces[detail.trace_index]["step_id"] == "wrist"
        assert detail.traces[detail.trace_index]["role"] == "final"
        await pilot.press("o", "shift+right", "enter")
        await screen_of(pilot, ReasonScreen)
        app.screen.query_one(Input).value = "stimulus artefact tail"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Stored edit" in screen_text(app), what="stored")
        await pilot.press("escape", "escape")
        await screen_of(pilot, RunScreen)
        table = screen.query_one(MeasurementsTable)
        await wait_for(pilot, lambda: any(str(table.get_row_at(i)[2]).endswith("*")
                                          for i in range(table.row_count)),
                       what="revised values on the run screen")
        await pilot.press("ctrl+x")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: not screen.active, timeout=60, what="aborted")
        assert screen.final_status == "aborted"
