"""The plot widget: exact-width strips and redraw time inside a real (headless) app."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from textual.app import App, ComposeResult

from tests.tui.fakes import FakeSweep
from tests.tui.helpers import wait_for
from tui.widgets.trace_plot import TracePlot

MEASURES = {"onset": 0.003, "neg_peak_latency": 0.007, "baseline": 0.0}


class PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TracePlot()


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
@pytest.mark.parametrize("n", [2000, 20000])
async def test_full_redraw_is_well_under_50_ms(size: tuple[int, int], n: int) -> None:
    app = PlotApp()
    async with app.run_test(size=size) as pilot:
        plot = app.query_one(TracePlot)
        await wait_for(pilot, lambda: plot.size.height > 0)
        volts = np.random.default_rng(n).normal(0.0, 1e-3, n)
        timings = []
        for _ in range(15):
            plot.show_sweep(volts, 100_000.0, -0.002, MEASURES)
            start = time.perf_counter()
            strips = [plot.render_line(y) for y in range(plot.size.height)]
            timings.append(time.perf_counter() - start)
        assert float(np.median(timings)) < 0.05
        assert all(strip.cell_length == plot.size.width for strip in strips)


async def test_redraws_only_when_something_changed() -> None:
    app = PlotApp()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(TracePlot)
        sweep: Any = FakeSweep(np.zeros(100))
        plot.show_sweep(sweep.volts(), sweep.sample_rate, sweep.t0, MEASURES)
        await pilot.pause()
        first = plot.render_line(3)
        assert plot.render_line(3) is first  # cached
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert plot.render_line(3) is not first
        plot.clear()
        assert plot.spec is None
