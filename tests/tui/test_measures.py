"""Provisional measures: SI in, clinical units out, nothing made up."""

from __future__ import annotations

import math

from tui.measures import compact_summary, provisional_values
from tui.widgets.step_list import progress_bar


def test_motor_response_reads_in_ms_and_mV() -> None:
    values = {v.key: v for v in provisional_values(
        {"onset": 0.0035, "neg_peak_latency": 0.0075, "neg_amplitude": 8e-3,
         "p2p_amplitude": 1.2e-2, "neg_duration": 0.005, "neg_area": 2.5e-5})}
    assert math.isclose(values["onset"].value or 0, 3.5) and values["onset"].unit == "ms"
    assert math.isclose(values["neg_amplitude"].value or 0, 8.0)
    assert values["neg_amplitude"].unit == "mV"
    assert math.isclose(values["neg_area"].value or 0, 25.0)
    assert values["neg_area"].unit == "mV·ms"


def test_sensory_response_reads_in_microvolts_and_nan_stays_empty() -> None:
    values = {v.key: v for v in provisional_values(
        {"onset": float("nan"), "neg_amplitude": 20e-6, "p2p_amplitude": 35e-6})}
    assert values["onset"].value is None and values["neg_peak_latency"].value is None
    assert values["neg_amplitude"].unit == "µV"
    assert math.isclose(values["neg_amplitude"].value or 0, 20.0)
    assert compact_summary({"neg_amplitude": 20e-6}) == "onset – · peak – ms · amp 20.00 µV"


def test_progress_bar() -> None:
    assert progress_bar(0, 4) == "0/4 ░░░░░░░░░░"
    assert progress_bar(4, 4) == "4/4 ██████████"
    assert progress_bar(1, 16, 8).startswith("1/16 ▌")
    assert progress_bar(0, 0) == ""


def test_markers_snap_to_samples_and_stay_on_the_sweep() -> None:
    import numpy as np

    from tui.markers import move_on_grid, value_at

    fs, t0 = 1000.0, -0.002
    assert math.isclose(move_on_grid(0.0034, 1, 100, fs, t0), 0.004)
    assert math.isclose(move_on_grid(0.0, -50, 100, fs, t0), t0)
    assert math.isclose(move_on_grid(None, 3, 100, fs, t0, fallback=0.01), 0.013)
    assert math.isclose(move_on_grid(0.09, 50, 100, fs, t0), t0 + 99 / fs)
    volts = np.arange(10, dtype=float)
    assert value_at(volts, t0 + 2.5 / fs, fs, t0) == 2.5
    assert value_at(volts, t0 - 1, fs, t0) is None
