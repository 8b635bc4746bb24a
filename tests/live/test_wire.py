"""The wire codec: engine events survive a JSON line exactly, and nothing else is built."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edxbench.live.wire import WireError, decode, encode
from engine import events as ev
from engine.prompts import Prompt
from instruments.sweep import StimulusInfo, Sweep


def sweep() -> Sweep:
    codes = (np.sin(np.arange(500) / 20) * 30000).astype("<i2")
    return Sweep(codes, 3.1e-7, -1e-6, 20_000.0, -0.002, StimulusInfo(12.5, 0.2, 3, 1.0))


def roundtrip(event: ev.Event) -> ev.Event:
    line = encode({"type": "event", "event": event})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return decode(line)["event"]


def test_sweep_crosses_with_its_raw_codes_and_nan_measures() -> None:
    event = ev.SweepRecorded("r", 3, "wrist", "final", "wrist", sweep(),
                             {"onset": 0.0035, "noise": float("nan"), "flags": 4,
                              "acceptable": False}, 12.5)
    back = roundtrip(event)
    assert isinstance(back, ev.SweepRecorded)
    assert back.sweep.codes.dtype == np.int16
    assert np.array_equal(back.sweep.codes, event.sweep.codes)
    assert np.array_equal(back.sweep.volts(), event.sweep.volts())
    assert back.sweep.stimulus == event.sweep.stimulus
    assert math.isnan(back.measures["noise"]) and back.measures["flags"] == 4
    assert back.measures["acceptable"] is False
    assert back.at == event.at


def test_float_sweeps_steps_and_prompts_keep_their_types() -> None:
    averaged = Sweep(np.linspace(-1e-5, 1e-5, 64, dtype=np.float32), 1.0, 0.0, 20_000.0,
                     -0.002, StimulusInfo(20.0, 0.1))
    trace = ev.TraceRecord("final", "wrist", averaged, 20.0, 0.1, {"onset": 0.003})
    done = ev.StepCompleted("r", 4, "wrist", "stimulate", "Wrist", "done", "t0",
                            traces=(trace,),
                            measurements=(ev.Measurement("onset_latency", 3.6, "ms",
                                                         upper=4.4, outcome="normal"),),
                            result={"search": [{"current_mA": 10.0}]})
    back = roundtrip(done)
    assert isinstance(back.traces, tuple) and back.traces[0].sweep.codes.dtype == np.float32
    assert np.array_equal(back.traces[0].sweep.codes, averaged.codes)
    assert (back.measurements, back.result, back.status) == (done.measurements, done.result,
                                                             "done")
    started = ev.RunStarted("r", "median-motor", "Median", "S-1",
                            (ev.StepInfo(0, "a", "instruction", "A"),), {"x": [1, 2]})
    assert roundtrip(started) == started
    asked = ev.PromptRequested("r", 1, Prompt("p", "choice", "Pick", choices=("a", "b")))
    assert roundtrip(asked) == asked


@pytest.mark.parametrize("line", [
    b"not json\n",
    b"[1, 2]\n",
    b'{"type": "event", "event": {"__type__": "Popen", "args": ["sh"]}}\n',
    b'{"type": "event", "event": {"__array__": ">f16", "shape": [1], "b64": ""}}\n',
    b'{"type": "event", "event": {"__type__": "Notice", "bogus": 1}}\n',
])
def test_anything_else_is_refused_with_a_reason(line: bytes) -> None:
    with pytest.raises(WireError):
        decode(line)
