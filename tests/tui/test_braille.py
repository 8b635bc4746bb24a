"""The braille renderer: dots, markers, axes, sizes and speed, without a terminal."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.braille import (
    BASELINE,
    EMPTY,
    ONSET,
    PEAK,
    TRACE,
    PlotSpec,
    _encode,
    amplitude_unit,
    nice_ticks,
    render_frame,
    render_plot,
    time_to_dot_col,
    trace_dots,
    value_to_dot_row,
)

FS = 1000.0  # 1 sample per ms keeps the arithmetic in these tests readable


def lit_rows(grid: np.ndarray, col: int) -> list[int]:
    return np.flatnonzero(grid[:, col]).tolist()


def test_single_dots_encode_to_the_unicode_braille_bits() -> None:
    dots = np.zeros((4, 2), dtype=bool)
    dots[0, 0] = True
    assert int(_encode(dots, 1, 1)[0, 0]) == 0x01
    dots[:] = False
    dots[3, 1] = True
    assert int(_encode(dots, 1, 1)[0, 0]) == 0x80
    dots[:] = True
    assert int(_encode(dots, 1, 1)[0, 0]) == 0xFF


def test_flat_line_lights_one_row_in_every_column() -> None:
    volts = np.full(100, 0.5)
    grid = trace_dots(volts, FS, 0.0, 20, 16, (0.0, 0.099), (0.0, 1.0))
    for col in range(20):
        assert lit_rows(grid, col) == [round(0.5 * 15)]


def test_ramp_runs_from_bottom_left_to_top_right_without_gaps() -> None:
    volts = np.linspace(0.0, 1.0, 200)
    grid = trace_dots(volts, FS, 0.0, 16, 16, (0.0, 0.199), (0.0, 1.0))
    assert 15 in lit_rows(grid, 0)  # starts at the bottom
    assert 0 in lit_rows(grid, 15)  # ends at the top
    tops = [min(lit_rows(grid, c)) for c in range(16)]
    bottoms = [max(lit_rows(grid, c)) for c in range(16)]
    assert tops == sorted(tops, reverse=True)
    # Neighbouring columns overlap or touch: the line is continuous.
    for c in range(1, 16):
        assert tops[c - 1] <= bottoms[c] + 1


def test_step_lights_the_whole_span_in_the_step_column_only() -> None:
    volts = np.where(np.arange(100) < 50, 0.0, 1.0)
    grid = trace_dots(volts, FS, 0.0, 10, 8, (0.0, 0.0999), (0.0, 1.0))
    step_col = time_to_dot_col(0.0495, 10, (0.0, 0.0999))
    assert step_col is not None
    assert lit_rows(grid, step_col) == list(range(8))
    for col in range(10):
        if col < step_col:
            assert lit_rows(grid, col) == [7]
        elif col > step_col:
            assert lit_rows(grid, col) == [0]


def test_fewer_samples_than_columns_still_draws_a_connected_line() -> None:
    volts = np.array([0.0, 1.0, 0.0])
    grid = trace_dots(volts, FS, 0.0, 40, 20, (0.0, 0.002), (0.0, 1.0))
    assert all(grid[:, c].any() for c in range(40))


def test_data_outside_the_ranges_stays_dark() -> None:
    volts = np.full(10, 5.0)  # far above y range
    assert not trace_dots(volts, FS, 0.0, 10, 8, (0.0, 0.009), (0.0, 1.0)).any()
    # The sweep covers only the second half of the x range.
    grid = trace_dots(np.zeros(10), FS, 0.010, 20, 8, (0.0, 0.019), (-1.0, 1.0))
    assert not grid[:, :9].any() and grid[:, 11:].any()


def test_nan_samples_do_not_light_or_crash() -> None:
    volts = np.full(50, np.nan)
    assert not trace_dots(volts, FS, 0.0, 10, 8, (0.0, 0.049), (0.0, 1.0)).any()


def test_markers_land_in_their_columns_and_the_baseline_on_its_row() -> None:
    x_range = (0.0, 0.0399)  # 40 samples over 20 cells → 40 dot columns
    volts = np.full(40, 0.9)
    frame = render_frame(volts, FS, 0.0, 20, 6, x_range, (0.0, 1.0),
                         onset=0.0100, peak=0.0250, baseline=0.2)
    onset_col = time_to_dot_col(0.0100, 40, x_range)
    peak_col = time_to_dot_col(0.0250, 40, x_range)
    assert onset_col is not None and peak_col is not None
    onset_cell, peak_cell = onset_col // 2, peak_col // 2
    # The trace sits in the top row, so lower rows show the markers in their own layer.
    for row in range(1, 6):
        assert frame.layers[row, onset_cell] in (ONSET, BASELINE)
        assert frame.layers[row, peak_cell] in (PEAK, BASELINE)
    assert frame.layers[3, onset_cell] == ONSET
    assert frame.layers[3, peak_cell] == PEAK
    base_row = value_to_dot_row(0.2, 24, (0.0, 1.0))
    assert base_row is not None
    assert (frame.layers[base_row // 4] != EMPTY).all()
    assert frame.layers[0, 0] == TRACE  # the trace wins where layers share a cell
    # Nothing else is drawn.
    others = np.ones(20, dtype=bool)
    others[[onset_cell, peak_cell]] = False
    assert (frame.layers[4, others] == EMPTY).all() or base_row // 4 == 4


def test_marker_off_the_plot_is_not_drawn() -> None:
    frame = render_frame(np.zeros(10), FS, 0.0, 5, 2, (0.0, 0.009), (-1.0, 1.0),
                         onset=0.5, peak=-0.1)
    assert not (frame.layers == ONSET).any() and not (frame.layers == PEAK).any()


def test_nice_ticks() -> None:
    assert nice_ticks(0.0, 20.0, 5) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert nice_ticks(-2.0, 18.0, 4) == [0.0, 5.0, 10.0, 15.0]
    ticks = nice_ticks(-8.6, 0.7, 4)
    assert 0.0 in ticks and -5.0 in ticks


def test_amplitude_unit_switches_to_microvolts_for_small_signals() -> None:
    assert amplitude_unit(10e-3)[0] == "mV"
    assert amplitude_unit(50e-6)[0] == "µV"


def cmap_spec(n: int = 2000, fs: float = 100_000.0) -> PlotSpec:
    t = -0.002 + np.arange(n) / fs
    volts = np.where(t > 0.0035, -8e-3 * np.sin(np.clip((t - 0.0035) / 0.004, 0, 2)
                                                * np.pi / 2), 0.0)
    return PlotSpec(volts, fs, -0.002, onset=0.0035, peak=0.0075, baseline=0.0)


def text_of(rows: list[list[tuple[str, str]]]) -> list[str]:
    return ["".join(text for text, _ in row) for row in rows]


def test_plot_has_legend_axes_and_units() -> None:
    lines = text_of(render_plot(cmap_spec(), 80, 16))
    assert len(lines) == 16 and all(len(line) == 80 for line in lines)
    assert "mV" in lines[0] and "onset 3.50 ms" in lines[0] and "neg peak 7.50 ms" in lines[0]
    assert "└" in lines[-2] and "┬" in lines[-2]
    assert lines[-1].rstrip().endswith("ms")
    for label in ("0", "5", "10", "15"):
        assert f" {label} " in f" {lines[-1]} "
    assert any("┤" in line and line.split("┤")[0].strip() == "0" for line in lines)


def test_microvolt_sweep_is_labelled_in_microvolts() -> None:
    spec = cmap_spec()
    small = PlotSpec(spec.volts * 2e-3, spec.sample_rate, spec.t0, spec.onset, spec.peak, 0.0)
    assert "µV" in text_of(render_plot(small, 80, 12))[0]


def test_empty_plot_says_so() -> None:
    lines = text_of(render_plot(None, 40, 5))
    assert "no sweep yet" in lines[2]


@settings(max_examples=80, deadline=None)
@given(width=st.integers(1, 220), height=st.integers(1, 70), n=st.integers(1, 3000),
       scale=st.floats(1e-7, 1.0), nan=st.booleans())
def test_any_size_gives_exactly_width_by_height_cells(width: int, height: int, n: int,
                                                     scale: float, nan: bool) -> None:
    volts = np.random.default_rng(n).normal(0.0, scale, n)
    if nan:
        volts[:: max(1, n // 3)] = np.nan
    spec = PlotSpec(volts, 10_000.0, -0.001, onset=0.0005, peak=0.001, baseline=0.0)
    lines = render_plot(spec, width, height)
    assert len(lines) == height
    assert all(sum(len(text) for text, _ in row) == width for row in lines)


@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 60)])
@pytest.mark.parametrize("n", [2000, 20000])
def test_redraw_is_well_under_50_ms(width: int, height: int, n: int) -> None:
    rng = np.random.default_rng(1)
    spec = PlotSpec(rng.normal(0, 1e-3, n), 100_000.0, -0.002, 0.003, 0.007, 0.0)
    render_plot(spec, width, height)  # warm up
    timings = []
    for _ in range(10):
        start = time.perf_counter()
        render_plot(spec, width, height)
        timings.append(time.perf_counter() - start)
    assert float(np.median(timings)) < 0.025  # half the budget: room for the Strips


def test_tick_labels_are_never_cut() -> None:
    from tui.braille import format_tick

    assert format_tick(2.0, 1.0) == "2"
    assert format_tick(0.5, 0.5) == "0.5"
    assert format_tick(-0.0, 0.2) == "0"
    assert format_tick(0.30000000000000004, 0.1) == "0.3"
    spec = cmap_spec(n=2200, fs=100_000.0)
    for width in range(30, 140, 7):
        label_row = text_of(render_plot(spec, width, 12))[-1]
        numbers = label_row.replace("ms", "").split()
        ticks = [float(n) for n in numbers]
        assert ticks == sorted(ticks) and len(ticks) >= 2
        step = ticks[1] - ticks[0]
        assert all(abs((b - a) % step) < 1e-6 or abs((b - a) % step - step) < 1e-6
                   for a, b in itertools.pairwise(ticks))


def test_negativity_is_drawn_upward_with_true_signed_labels() -> None:
    spec = cmap_spec()
    lines = text_of(render_plot(spec, 80, 16))
    assert "neg↑" in lines[0]
    labelled = [(i, line.split("┤")[0].strip()) for i, line in enumerate(lines) if "┤" in line]
    values = [float(label) for _, label in labelled]
    assert values == sorted(values)  # the most negative label is the highest one
    assert values[0] < 0 and values[-1] >= 0
    # The negative peak's dots sit in the top plot rows, the baseline near the bottom.
    frame_rows = [i for i, line in enumerate(lines[1:-2], start=1)
                  if any(0x2800 < ord(c) <= 0x28FF for c in line.split("│", 1)[-1][25:40])]
    assert frame_rows and min(frame_rows) <= 2


def test_engineering_view_keeps_negative_down() -> None:
    from dataclasses import replace

    lines = text_of(render_plot(replace(cmap_spec(), negative_up=False), 80, 16))
    assert "neg↑" not in lines[0]
    values = [float(line.split("┤")[0]) for line in lines if "┤" in line]
    assert values == sorted(values, reverse=True)
