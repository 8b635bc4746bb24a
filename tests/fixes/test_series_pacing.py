"""A stimulation series keeps its rate in real time.

The engine used to wait one period after the previous sweep had come back, so every
interval was the period plus the time to arm, read and measure a sweep (a 1 Hz series ran
at ~1006 ms). Paced from the previous stimulus's scheduled time, the pulses the stimulator
delivers (its own time stamps, on the bench clock) keep the period, and never come sooner
than the stimulator's rate limit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edxbench.session import open_session
from engine import events as ev
from engine.prompts import HeadlessPrompter
from tests.conftest import ROOT

COUNT, RATE_HZ = 9, 4.0


def short_series_protocol(tmp_path: Path) -> Path:
    """The library's median F-wave protocol with a short, faster series and search."""
    text = (ROOT / "protocols" / "median_f_waves.yaml").read_text(encoding="utf-8")
    text = re.sub(r"count: 20\n      rate_hz: 1\n", f"count: {COUNT}\n      rate_hz: {RATE_HZ:g}\n",
                  text)
    text = text.replace("      supramaximal:", f"      rate_hz: {RATE_HZ:g}\n      supramaximal:")
    assert f"count: {COUNT}" in text and text.count(f"rate_hz: {RATE_HZ:g}") == 2
    path = tmp_path / "median_f_waves_short.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_series_pulses_keep_the_period_in_real_time(tmp_path: Path) -> None:
    delivered: list[float] = []
    session = open_session(short_series_protocol(tmp_path), "normal-adult",
                           db_path=tmp_path / "runs.sqlite", prompter=HeadlessPrompter({}))
    stimulator = session.run.bench.stimulator

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.SweepRecorded) and event.role == "series":
            delivered.append(stimulator.last_stimulus_at)

    session.run.subscribers.append(on_event)
    try:
        result = session.run.execute()
    finally:
        session.close()
    assert result.status == "completed", result.reason
    assert len(delivered) == COUNT
    period = 1.0 / RATE_HZ
    intervals = np.diff(delivered)
    # the old pacing added ≥ 6 ms to every one of the 8 intervals (≥ 48 ms in all)
    excess_ms = (delivered[-1] - delivered[0] - (COUNT - 1) * period) * 1e3
    assert abs(excess_ms) < 25.0, (excess_ms, intervals)
    assert np.median(intervals) * 1e3 < period * 1e3 + 4.0, intervals
    assert intervals.min() >= 1.0 / stimulator.limits.max_rate_hz
