"""The supramaximal search stops where the response stops growing, then adds the margin."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from engine.protocol import SupramaximalSpec
from engine.supramaximal import SupramaximalSearch

SPEC = SupramaximalSpec(start_mA=5, step_mA=5, max_mA=60, plateau_pct=5, margin_pct=10)


def sigmoid_amplitude(current: float, threshold: float, slope: float, maximum: float) -> float:
    return maximum / (1.0 + math.exp(-(current - threshold) / slope))


def run_search(spec: SupramaximalSpec, ceiling: float, threshold: float, slope: float,
               maximum: float = 0.009) -> SupramaximalSearch:
    search = SupramaximalSearch(spec, ceiling)
    while (current := search.next_current()) is not None:
        amp = sigmoid_amplitude(current, threshold, slope, maximum)
        search.record(current, amp, responded=amp > 1e-5)
    return search


def test_plateau_found_and_margin_added() -> None:
    search = run_search(SPEC, 60, threshold=12, slope=2)
    assert search.reached_plateau
    plateau = search.plateau_mA
    assert plateau is not None
    # at the plateau current the response is within 5 % of the maximum
    assert sigmoid_amplitude(plateau, 12, 2, 1.0) > 0.9
    assert math.isclose(search.final_current(), plateau * 1.1)


def test_ceiling_caps_search_and_final_current() -> None:
    search = run_search(SPEC, 20, threshold=40, slope=3)
    assert not search.reached_plateau
    assert max(c for c, _ in search.trials) <= 20
    assert search.final_current() == 20


@given(threshold=st.floats(2, 50), slope=st.floats(0.5, 8), ceiling=st.floats(5, 100))
def test_never_exceeds_ceiling(threshold: float, slope: float, ceiling: float) -> None:
    search = run_search(SPEC, ceiling, threshold, slope)
    assert all(current <= ceiling + 1e-9 for current, _ in search.trials)
    assert search.final_current() <= ceiling + 1e-9
    currents = [c for c, _ in search.trials]
    assert currents == sorted(currents)


def test_small_variable_response_near_threshold_is_not_a_plateau() -> None:
    search = SupramaximalSearch(SPEC, 60)
    for current, amp in ((5, 0.15e-3), (10, 0.14e-3), (15, 0.9e-3), (20, 3.0e-3),
                         (25, 5.0e-3), (30, 5.1e-3)):
        assert search.next_current() == current
        search.record(current, amp, responded=True)
    assert search.plateau_mA == 25
