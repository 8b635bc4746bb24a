"""Bench validation: one `bench_check` step measures the bench on a fixture and judges it.

The checks (protocols/bench/) put a fixture where the subject would be — a test load on
the stimulator, a delay line, the amplifier's calibrator, shorted inputs, dummy
electrodes — capture through the ordinary bench calls, measure, and compare each value
with its tolerance in data/bench-tolerances.yaml. A value is a Measurement like any
study's, so storage, `edxbench show` and reports need nothing new; the step's result adds
the check's outcome, pass or fail.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import rustcore
from engine import events as ev
from engine.fields import FieldReader
from engine.paths import data_dir
from engine.prompts import Prompt
from engine.protocol import BenchCheckStep
from engine.reference import ReferenceEntry, flagged
from engine.yamlsource import Mark, SourceError, load_yaml_file
from instruments.bench import SweepSettings
from instruments.errors import InstrumentError
from instruments.fixture_link import connect_fixture, disconnect_fixture, probe_channel
from instruments.sweep import Sweep

if TYPE_CHECKING:
    from engine.runner import Run

MAINS_HZ = (50.0, 60.0)
STIMULUS_RATE_HZ = 1.0  # paced like a study's single stimuli (the profile's rate limit holds)
# what each check connects: the fixture mode of instruments/sim/fixture.py
FIXTURE_MODES = {"stimulator_load": "load", "latency": "delay", "amplifier_gain": "calibrator",
                 "noise_floor": "shorted", "mains": "dummy"}


class ToleranceError(SourceError):
    """A tolerance file that cannot be used, located at file:line:column."""


@dataclass(frozen=True)
class Tolerance:
    id: str
    quantity: str
    unit: str
    citation: str
    relative_pct: float | None = None
    absolute: float | None = None
    upper: float | None = None

    def limits(self, nominal: float | None) -> tuple[float | None, float | None]:
        """(lower, upper) around the nominal, or the fixed upper limit."""
        if self.upper is not None:
            return None, self.upper
        assert nominal is not None, f"tolerance {self.id} needs a nominal value"
        half = (abs(nominal) * self.relative_pct / 100.0 if self.relative_pct is not None
                else float(self.absolute or 0.0))
        return nominal - half, nominal + half


@dataclass(frozen=True)
class ToleranceSet:
    id: str
    version: str
    sha256: str
    entries: dict[str, Tolerance]  # by quantity


def tolerances_path() -> Path:
    return data_dir() / "bench-tolerances.yaml"


def load_tolerances(path: Path | None = None) -> ToleranceSet:
    source = path or tolerances_path()
    if not source.exists():
        raise ToleranceError(Mark(str(source), 1, 1), "no bench tolerance file")
    try:
        return _parse(load_yaml_file(source), source)
    except ToleranceError:
        raise
    except SourceError as exc:
        raise ToleranceError(exc.mark, exc.message) from None


def _parse(document: object, source: Path) -> ToleranceSet:
    top = FieldReader(document, "bench tolerances", Mark(str(source), 1, 1))
    top.integer("schema", required=True, minimum=1, maximum=1)
    set_id = str(top.identifier("id", required=True))
    version = str(top.raw("version", required=True))
    top.text("title", "")
    sources = top.sub("sources", "sources", required=True)
    assert sources is not None
    citations: dict[str, str] = {}
    for key in list(sources.mapping):
        src = sources.sub(key, f"source '{key}'")
        assert src is not None
        citations[key] = " ".join(str(src.text("citation", required=True)).split())
        src.choice("grade", ("primary", "secondary", "lab"), required=True)
        src.finish()
    entries: dict[str, Tolerance] = {}
    items = top.items("tolerances", required=True)
    for index, item in enumerate(items):
        r = FieldReader(item, "tolerance", items.mark_of(index))
        tol_id = str(r.identifier("id", required=True))
        r.what = f"tolerance '{tol_id}'"
        quantity = str(r.identifier("quantity", required=True))
        if quantity in entries:
            raise r.error("quantity", f"{quantity!r} has a tolerance already")
        source_key = str(r.text("source", required=True))
        if source_key not in citations:
            raise r.error("source", f"names unknown source {source_key!r}")
        given = {key: r.number(key, minimum=0.0) for key in ("relative_pct", "absolute", "upper")}
        if sum(v is not None for v in given.values()) != 1:
            raise ToleranceError(r.mark, f"{r.what}: give exactly one of relative_pct, "
                                         "absolute or upper")
        entries[quantity] = Tolerance(tol_id, quantity, str(r.text("unit", required=True)),
                                      citations[source_key], **given)
        r.finish()
    top.finish()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return ToleranceSet(set_id, version, digest, entries)


# ---- measuring (pure functions of a sweep) -------------------------------------------
def probe_pulse(volts: np.ndarray, sample_rate: float, t0: float) -> tuple[float, float]:
    """Plateau voltage and width (s, at half the plateau) of one rectangular pulse."""
    top = float(np.percentile(volts, 99.5))
    if not top > 0:
        return float("nan"), float("nan")
    above = volts > top / 2.0
    plateau = volts[above]
    level = float(np.median(plateau))
    half = level / 2.0
    rising = int(np.argmax(above))
    falling_rel = np.flatnonzero(~above[rising:])
    if rising == 0 or falling_rel.size == 0:
        return level, float("nan")  # the pulse is not wholly inside the window
    falling = rising + int(falling_rel[0])

    def crossing(i: int) -> float:  # between samples i-1 and i
        a, b = float(volts[i - 1]), float(volts[i])
        return (i - 1 + (half - a) / (b - a)) / sample_rate

    return level, crossing(falling) - crossing(rising)


def square_wave_amplitude(volts: np.ndarray) -> float:
    """High minus low level of a square wave (medians, so edges and noise barely count)."""
    lo, hi = np.percentile(volts, [5.0, 95.0])
    mid = (lo + hi) / 2.0
    high, low = volts[volts > mid], volts[volts <= mid]
    if high.size == 0 or low.size == 0:
        return float("nan")
    return float(np.median(high) - np.median(low))


def sine_amplitude(volts: np.ndarray, sample_rate: float, hz: float) -> float:
    """Amplitude of the `hz` component (least-squares fit of sine, cosine and offset)."""
    t = np.arange(volts.size) / sample_rate
    basis = np.column_stack([np.sin(2 * np.pi * hz * t), np.cos(2 * np.pi * hz * t),
                             np.ones_like(t)])
    (a, b, _), *_ = np.linalg.lstsq(basis, volts, rcond=None)
    return float(np.hypot(a, b))


# ---- the step --------------------------------------------------------------------------
def run_bench_check(run: Run, seq: int, step: BenchCheckStep, started: str) -> ev.StepCompleted:
    """Connect the fixture, capture, measure, judge; the fixture is disconnected after."""
    fixture = dict(step.fixture)
    described = ", ".join(f"{k} {v:g}" for k, v in step.fixture)
    ready = run._ask(seq, Prompt(
        id=f"{step.id}.fixture", kind="confirm", default=True,
        text=f"{step.title}: fixture '{FIXTURE_MODES[step.check]}' connected"
             + (f" ({described})" if described else "")
             + " and no person connected to the stimulator?"))
    if not ready:
        return ev.StepCompleted(run.run_id, seq, step.id, step.kind, step.title, "skipped",
                                started, reason="operator did not confirm the fixture")
    tolerances = load_tolerances()
    connect_fixture(run.bench, FIXTURE_MODES[step.check], *fixture.values())
    try:
        sweep, values, measures = _capture_and_measure(run, step, fixture)
    except BaseException:
        run.bench.all_outputs_off()
        with contextlib.suppress(InstrumentError):  # the first error is the one to report
            disconnect_fixture(run.bench)
        raise
    disconnect_fixture(run.bench)
    measures["fixture"] = fixture
    run._emit(ev.SweepRecorded(run.run_id, seq, step.id, "final", step.check, sweep, measures,
                               step.current_mA))
    measurements = [_judged(tolerances, step.check, name, value, nominal)
                    for name, (value, nominal) in values.items()]
    passed = all(m.outcome == "normal" for m in measurements)
    if not passed:
        failing = "; ".join(f"{m.name} {m.value if m.value is None else f'{m.value:.4g}'} "
                            f"{m.unit} outside {_limits(m)}" for m in measurements
                            if m.outcome != "normal")
        run._emit(ev.Notice(run.run_id, "warning", f"{step.title}: FAIL: {failing}"))
    trace = ev.TraceRecord("final", step.check, sweep, step.current_mA, step.pulse_width_ms,
                           measures)
    return ev.StepCompleted(
        run.run_id, seq, step.id, step.kind, step.title, "done", started,
        traces=(trace,), measurements=tuple(measurements),
        result={"check": step.check, "outcome": "pass" if passed else "fail",
                "fixture": fixture, "tolerances_id": tolerances.id,
                "tolerances_version": tolerances.version,
                "tolerances_sha256": tolerances.sha256})


Values = dict[str, tuple[float | None, float | None]]


def _capture_and_measure(run: Run, step: BenchCheckStep, fixture: dict[str, float]
                         ) -> tuple[Sweep, Values, dict[str, Any]]:
    """The sweep; quantity → (measured value in its unit, nominal or None); the kernel's
    measures where a kernel measured (latency: the onset marker the screens draw)."""
    bench = run.bench
    if step.check in ("stimulator_load", "latency"):
        triggered = SweepSettings(step.window_ms, step.pretrigger_ms,
                                  step.probe_V_per_div * 1e3 if step.check == "stimulator_load"
                                  else step.sensitivity_mV_per_div, step.points)
        if step.check == "stimulator_load":
            with probe_channel(bench, step.probe_channel):
                sweep = _stimulate(run, step, triggered)
            level, width = probe_pulse(sweep.volts(), sweep.sample_rate, sweep.t0)
            current_mA = level / fixture["load_ohm"] * 1e3
            return sweep, {"pulse_current": (_finite(current_mA), step.current_mA),
                           "pulse_width": (_finite(width * 1e3), step.pulse_width_ms)}, {}
        sweep = _stimulate(run, step, triggered)
        measures = dict(rustcore.measure_sweep(sweep.volts(), sweep.sample_rate, sweep.t0,
                                          search_start=min(0.5e-3, fixture["delay_ms"] * 5e-4)))
        onset = float(measures["onset"]) * 1e3
        return sweep, {"onset_latency": (_finite(onset), fixture["delay_ms"])}, measures
    sweep = bench.record_continuous(step.duration_ms, step.sample_rate_hz,
                                    step.sensitivity_mV_per_div)
    volts = sweep.volts()
    if step.check == "amplifier_gain":
        ratio = square_wave_amplitude(volts) / (fixture["amplitude_uV"] * 1e-6)
        gain = bench.profile.amplifier_gain
        return sweep, {"amplifier_gain": (_finite(ratio * gain), gain)}, {}
    if step.check == "noise_floor":
        return sweep, {"noise_rms": (_finite(float(np.std(volts)) * 1e6), None)}, {}
    return sweep, {f"mains_{hz:g}hz": (_finite(sine_amplitude(volts, sweep.sample_rate, hz)
                                               * 1e6), None) for hz in MAINS_HZ}, {}


def _stimulate(run: Run, step: BenchCheckStep, settings: SweepSettings) -> Sweep:
    run._check_cancel()
    run._pace(STIMULUS_RATE_HZ)
    sweep = run.bench.stimulate_and_record(step.current_mA, step.pulse_width_ms, settings)
    return sweep


def _finite(value: float) -> float | None:
    return round(value, 6) if np.isfinite(value) else None


def _judged(tolerances: ToleranceSet, check: str, name: str, value: float | None,
            nominal: float | None) -> ev.Measurement:
    tol = tolerances.entries.get(name)
    if tol is None:
        raise ToleranceError(Mark(str(tolerances_path()), 1, 1),
                             f"no tolerance for '{name}' (bench check {check})")
    lower, upper = tol.limits(nominal)
    entry = ReferenceEntry(id=tol.id, nerve="bench", recording=check, quantity=name,
                           unit=tol.unit, lower=lower, upper=upper, citation=tol.citation)
    note = "" if nominal is None else f"nominal {nominal:g} {tol.unit}"
    measurement = flagged(name, value, tol.unit, check, entry, trace_index=0, note=note)
    if value is None:  # a bench that cannot be measured does not pass
        return replace(measurement, outcome="abnormal",
                       note=(note + "; " if note else "") + "not measurable")
    return measurement


def _limits(m: ev.Measurement) -> str:
    if m.lower is not None and m.upper is not None:
        return f"{m.lower:.4g}–{m.upper:.4g}"
    return f"≤ {m.upper:.4g}" if m.upper is not None else f"≥ {m.lower:.4g}"

