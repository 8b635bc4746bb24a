"""Series steps: F-waves over repeated supramaximal stimuli, repetitive nerve
stimulation (RNS) trains with optional post-exercise repeats, and the H-reflex
recruitment curve (a current ramp: the H appears below the M threshold and fades by
collision as the M-wave grows).

The sweeps come from the bench, the statistics from rustcore; this module only decides
what to record and turns the core's SI results into clinical measurements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import rustcore
from engine import events as ev
from engine.prompts import Prompt
from engine.protocol import SeriesStep
from engine.reference import flagged
from instruments.bench import SweepSettings

if TYPE_CHECKING:
    from engine.runner import Run


def run_series(run: Run, seq: int, step: SeriesStep, started: str) -> ev.StepCompleted:
    if step.mode == "h_reflex":
        return _h_reflex(run, seq, step, started)
    current = run._currents.get(step.current_from) if step.current_from else step.fixed_mA
    if current is None:
        return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "failed",
                                started, reason=f"no accepted current from '{step.current_from}'"
                                                " (was it skipped?)")
    if not _confirm_placement(run, seq, step, f"{step.count} stimuli at {step.rate_hz:g} Hz"):
        return _not_placed(run, seq, step, started)
    _place(run, step)
    if step.mode == "f_wave":
        return _f_waves(run, seq, step, started, current)
    return _rns(run, seq, step, started, current)


def _confirm_placement(run: Run, seq: int, step: SeriesStep, what: str) -> bool:
    return bool(run._ask(seq, Prompt(
        id=f"{step.id}.placed", kind="confirm", default=True,
        text=f"Stimulator at the {step.site}, recording from {step.recording}: ready for "
             f"{what}?")))


def _not_placed(run: Run, seq: int, step: SeriesStep, started: str) -> ev.StepCompleted:
    return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "skipped",
                            started, reason="operator did not confirm placement")


def _place(run: Run, step: SeriesStep) -> None:
    run.bench.place_electrodes(nerve=step.nerve, stimulation_site=step.site,
                               recording=step.recording)


def _measure(run: Run, step: SeriesStep, name: str, value: float | None, unit: str,
             note: str = "") -> ev.Measurement:
    entry = run.reference.find(nerve=step.nerve, recording=step.recording, quantity=name)
    return flagged(name, value, unit, step.site, entry, note=note)


def _finite(value: Any, factor: float = 1.0, digits: int = 3) -> float | None:
    number = float(value)
    return round(number * factor, digits) if np.isfinite(number) else None


def _f_waves(run: Run, seq: int, step: SeriesStep, started: str,
             current: float) -> ev.StepCompleted:
    traces = [run._sweep_once(seq, step, current, "series") for _ in range(step.count)]
    first = traces[0].sweep
    stack = np.vstack([t.sweep.volts() for t in traces])
    result = rustcore.f_waves(stack, first.sample_rate, first.t0,
                              window=(step.window_ms[0] / 1e3, step.window_ms[1] / 1e3),
                              k=step.threshold_k)
    present = int(np.count_nonzero(result["present"]))
    note = "" if present else "no F-wave in any sweep"
    measurements = (
        _measure(run, step, "f_min_latency", _finite(result["min_latency"], 1e3), "ms", note),
        _measure(run, step, "f_mean_latency", _finite(result["mean_latency"], 1e3), "ms", note),
        _measure(run, step, "f_max_latency", _finite(result["max_latency"], 1e3), "ms", note),
        _measure(run, step, "f_persistence", _finite(result["persistence"], 1.0, 1), "%"),
        _measure(run, step, "f_chronodispersion", _finite(result["chronodispersion"], 1e3),
                 "ms", note),
    )
    return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "done", started,
                            traces=tuple(traces), measurements=measurements,
                            result={"current_mA": current, "f_present": present,
                                    "stimuli": step.count})


def _train(run: Run, seq: int, step: SeriesStep, current: float,
           role: str) -> tuple[list[ev.TraceRecord], dict[str, Any]]:
    run._check_cancel()
    run._pace(step.rate_hz, pulses=step.count)
    settings = SweepSettings(step.sweep.window_ms, step.sweep.pretrigger_ms,
                             step.sweep.sensitivity_mV_per_div, step.sweep.points)
    sweeps = run.bench.stimulate_train(current, step.pulse_width_ms, step.rate_hz, step.count,
                                       settings)
    stack = np.vstack([s.volts() for s in sweeps])
    result = rustcore.repetitive_stimulation(stack, sweeps[0].sample_rate, sweeps[0].t0,
                                             search_start=step.artefact_ms / 1e3,
                                             min_snr=step.min_snr)
    traces = []
    for index, sweep in enumerate(sweeps):
        measures = {"neg_amplitude": float(result["amplitude"][index]),
                    "neg_area": float(result["area"][index]),
                    "amplitude_change_pct": float(result["amplitude_change"][index])}
        run._emit(ev.SweepRecorded(run.run_id, seq, step.id, role, step.site, sweep, measures,
                                   current))
        traces.append(ev.TraceRecord(role, step.site, sweep, current, step.pulse_width_ms,
                                     measures))
    return traces, result


def _rns(run: Run, seq: int, step: SeriesStep, started: str,
         current: float) -> ev.StepCompleted:
    traces, rest = _train(run, seq, step, current, "train-rest")
    first = _finite(rest["amplitude"][0], 1e3)
    measurements = [
        _measure(run, step, "rns_first_amplitude", first, "mV"),
        _measure(run, step, "rns_decrement_4th", _finite(rest["decrement_4th"], 1.0, 1), "%"),
        _measure(run, step, "rns_max_decrement", _finite(rest["max_decrement"], 1.0, 1), "%"),
    ]
    result: dict[str, Any] = {"current_mA": current, "rate_hz": step.rate_hz,
                              "count": step.count}
    if step.exercise_s > 0:
        run._ask(seq, Prompt(
            id=f"{step.id}.exercise", kind="confirm", default=True,
            text=f"Ask for a maximal voluntary contraction of the muscle for "
                 f"{step.exercise_s:g} s, then relax: done?"))
        run.bench.exercise(step.exercise_s)
        exercised_at = run.clock.now()
        post_traces, post = _train(run, seq, step, current, "train-post-exercise")
        traces += post_traces
        post_first = _finite(post["amplitude"][0], 1e3)
        increment = (None if first in (None, 0) or post_first is None
                     else round((post_first - first) / first * 100.0, 1))
        measurements += [
            _measure(run, step, "rns_post_exercise_increment", increment, "%"),
            _measure(run, step, "rns_post_exercise_decrement_4th",
                     _finite(post["decrement_4th"], 1.0, 1), "%"),
        ]
        measurements += _exhaustion(run, seq, step, current, exercised_at, traces)
    return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "done", started,
                            traces=tuple(traces), measurements=tuple(measurements),
                            result=result)


def _exhaustion(run: Run, seq: int, step: SeriesStep, current: float, exercised_at: float,
                traces: list[ev.TraceRecord]) -> list[ev.Measurement]:
    """Trains at the protocol's times after the exercise: a postsynaptic decrement grows
    1-3 min after a contraction (post-exercise exhaustion, edx.md §3)."""
    found: list[ev.Measurement] = []
    decrements: list[float] = []
    for after in step.repeat_after_s:
        _wait_until(run, exercised_at + after)
        more, late = _train(run, seq, step, current, f"train-{after:g}s-after-exercise")
        traces += more
        decrement = _finite(late["decrement_4th"], 1.0, 1)
        if decrement is not None:
            decrements.append(decrement)
        found.append(_measure(run, step, f"rns_decrement_4th_{after:g}s", decrement, "%"))
    if step.repeat_after_s:
        found.append(_measure(run, step, "rns_exhaustion_decrement_4th",
                              max(decrements, default=None), "%",
                              note="" if decrements else "no measurable train"))
    return found


def _wait_until(run: Run, when: float) -> None:
    """Wait on the bench clock in short slices so a stop or abort is heard at once."""
    while (left := when - run.clock.now()) > 0:
        run._check_cancel()
        run.clock.sleep(min(left, 0.5))


def _h_reflex(run: Run, seq: int, step: SeriesStep, started: str) -> ev.StepCompleted:
    """Stimuli on a rising current ramp: H threshold, H max and its latency, M max."""
    assert step.ramp_mA is not None
    low, high = step.ramp_mA
    ceiling = min(high, run.bench.profile.limits.max_current_mA)
    if not _confirm_placement(run, seq, step, f"{step.count} stimuli from {low:g} to "
                                              f"{ceiling:g} mA at {step.rate_hz:g} Hz"):
        return _not_placed(run, seq, step, started)
    _place(run, step)
    currents = [float(c) for c in np.linspace(low, max(low, ceiling), step.count)]
    traces = [run._sweep_once(seq, step, c, "series") for c in currents]
    first = traces[0].sweep
    stack = np.vstack([t.sweep.volts() for t in traces])
    result = rustcore.h_reflex(stack, first.sample_rate, first.t0,
                               m_window=(step.artefact_ms / 1e3, step.window_ms[0] / 1e3),
                               h_window=(step.window_ms[0] / 1e3, step.window_ms[1] / 1e3),
                               k=step.threshold_k)
    # A response that starts right at the window's opening is the tail of a long (dispersed)
    # M-wave, not an H-reflex: the window must begin after the M-wave is over.
    latency = np.asarray(result["h_latency"], dtype=float)
    opening = step.window_ms[0] / 1e3 + 2.0 / first.sample_rate
    seen = np.asarray(result["h_present"], dtype=bool) & (np.nan_to_num(latency) > opening)
    at_opening = int(np.count_nonzero(np.asarray(result["h_present"], dtype=bool) & ~seen))
    present = [c for c, ok in zip(currents, seen, strict=True) if ok]
    note = "" if present else "no H-reflex at any current"
    if at_opening:
        note = (note + "; " if note else "") + (f"{at_opening} sweep(s) had a response at the "
                                                "window's opening (M-wave tail), not counted")
    h_max = h_latency = h_m_ratio = None
    if present:
        amplitude = np.where(seen, np.asarray(result["h_amplitude"], dtype=float), -np.inf)
        best = int(np.argmax(amplitude))
        h_max, h_latency = _finite(amplitude[best], 1e3), _finite(latency[best], 1e3)
        m_max = float(result["m_max"])
        h_m_ratio = _finite(amplitude[best] / m_max, 100.0, 1) if m_max > 0 else None
    measurements = (
        _measure(run, step, "h_latency", h_latency, "ms", note),
        _measure(run, step, "h_max_amplitude", h_max, "mV", note),
        _measure(run, step, "m_max_amplitude", _finite(result["m_max"], 1e3), "mV"),
        _measure(run, step, "h_m_ratio", h_m_ratio, "%", note),
        _measure(run, step, "h_threshold", min(present) if present else None, "mA", note),
    )
    return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "done", started,
                            traces=tuple(traces), measurements=measurements,
                            result={"currents_mA": currents, "h_present": len(present),
                                    "stimuli": step.count})
