"""Needle EMG steps: spontaneous activity at rest, motor unit potentials at minimal
effort, the interference pattern at maximal effort.

The bench records (and on the simulated bench tells the virtual patient how hard to
contract); rustcore detects and measures; this module asks the operator at each phase and
turns the SI results into clinical measurements (µV, ms, Hz, per second).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

import rustcore
from engine import events as ev
from engine.prompts import Prompt
from engine.protocol import NeedleStep
from engine.reference import flagged

if TYPE_CHECKING:
    from engine.runner import Run

POLYPHASIC_PHASES = 5  # more than four phases (edx.md §7: phases = baseline crossings + 1)
INSERTION_SETTLE_S = 0.5  # insertional activity after the needle moves
MAINS_HZ = (50.0, 60.0)


@cache
def _hum_filter(sample_rate: float) -> np.ndarray:
    """SOS cascade: 20 Hz high-pass (drift) and 50/60 Hz notches, designed with SciPy."""
    from scipy import signal

    sections = [signal.butter(2, 20.0, btype="highpass", fs=sample_rate, output="sos")]
    for mains in MAINS_HZ:
        b, a = signal.iirnotch(mains, 30.0, fs=sample_rate)
        sections.append(signal.tf2sos(b, a))
    return np.vstack(sections)


def _clean(volts: np.ndarray, sample_rate: float) -> np.ndarray:
    return rustcore.sos_filter(volts, _hum_filter(sample_rate), zero_phase=True)


def run_needle(run: Run, seq: int, step: NeedleStep, started: str) -> ev.StepCompleted:
    side = run._safety.side or None
    inserted = run._ask(seq, Prompt(
        id=f"{step.id}.inserted", kind="confirm", default=True,
        text=f"Needle in {step.muscle}{f' ({side})' if side else ''}, muscle at rest: ready?"))
    if not inserted:
        return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "skipped",
                                started, reason="operator did not confirm the needle")
    run.bench.place_needle(step.muscle, side)
    traces: list[ev.TraceRecord] = []
    rest = _record(run, seq, step, "rest", 0.0, step.rest_ms, traces)
    # the insertional burst is not spontaneous activity; mains hum distorts durations
    settle = int(INSERTION_SETTLE_S * rest.sample_rate)
    spont = rustcore.spontaneous_activity(_clean(rest.volts()[settle:], rest.sample_rate),
                                          rest.sample_rate)
    run._ask(seq, Prompt(id=f"{step.id}.minimal", kind="confirm", default=True,
                         text=f"Ask for a slight contraction of {step.muscle}: ready?"))
    minimal = _record(run, seq, step, "minimal", step.minimal_effort, step.minimal_ms, traces)
    units = rustcore.decompose_emg(minimal.volts(), minimal.sample_rate)
    run._ask(seq, Prompt(id=f"{step.id}.maximal", kind="confirm", default=True,
                         text=f"Ask for a maximal contraction of {step.muscle}: ready?"))
    maximal = _record(run, seq, step, "maximal", 1.0, step.maximal_ms, traces)
    interference = rustcore.interference_pattern(maximal.volts(), maximal.sample_rate)
    run.bench.set_effort(0.0)
    return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "done", started,
                            traces=tuple(traces),
                            measurements=tuple(_measurements(run, step, spont, units,
                                                             interference)),
                            result={"muscle": step.muscle, "side": side,
                                    "units": int(units["n_units"])})


def _record(run: Run, seq: int, step: NeedleStep, phase: str, effort: float,
            duration_ms: float, traces: list[ev.TraceRecord]) -> Any:
    run._check_cancel()
    run.bench.set_effort(effort)
    sweep = run.bench.record_continuous(duration_ms, step.sample_rate_hz,
                                        step.sensitivity_mV_per_div)
    measures = {"phase": phase, "effort": effort}
    run._emit(ev.SweepRecorded(run.run_id, seq, step.id, phase, step.muscle, sweep, measures,
                               0.0))
    traces.append(ev.TraceRecord(phase, step.muscle, sweep, 0.0, 0.0, measures))
    return sweep


def _mean(values: Any, factor: float) -> float | None:
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array) & (array > 0)]
    return round(float(np.mean(array)) * factor, 2) if array.size else None


def _measurements(run: Run, step: NeedleStep, spont: Any, units: Any,
                  interference: Any) -> list[ev.Measurement]:
    phases = np.asarray(units["phases"])
    polyphasic = (round(float(np.mean(phases >= POLYPHASIC_PHASES)) * 100.0, 1)
                  if phases.size else None)
    values: list[tuple[str, float | None, str]] = [
        ("fibrillation_rate", round(float(spont["fibrillation_rate"]), 2), "/s"),
        ("positive_sharp_wave_rate", round(float(spont["positive_sharp_wave_rate"]), 2), "/s"),
        ("muap_count", float(units["n_units"]), "units"),
        ("muap_amplitude", _mean(units["amplitude"], 1e6), "µV"),
        ("muap_duration", _mean(units["duration"], 1e3), "ms"),
        ("muap_polyphasic", polyphasic, "%"),
        ("muap_firing_rate", _mean(units["firing_rate"], 1.0), "Hz"),
        ("recruitment_frequency", _finite(units["recruitment_frequency"]), "Hz"),
        ("interference_turns", round(float(interference["turns_per_second"]), 1), "/s"),
        ("interference_amplitude", _mean([interference["mean_amplitude"]], 1e6), "µV"),
    ]
    return [flagged(name, value, unit, step.muscle,
                    run.reference.find(nerve="needle", recording=step.muscle, quantity=name))
            for name, value, unit in values]


def _finite(value: Any) -> float | None:
    number = float(value)
    return round(number, 2) if np.isfinite(number) else None
