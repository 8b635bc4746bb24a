"""Each study type run on the sim bench and measured with rustcore: configured vs recovered.

Shared by the accuracy tests and by `benchmarks/sim_accuracy.py`, which writes the table
kept in instruments/ACCURACY.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

import rustcore
from instruments.bench import Bench, SweepSettings
from instruments.bench_config import load_bench_config
from instruments.clock import FastClock
from instruments.sim import SimBench
from instruments.sim.subject_spec import MotorRecording, SensoryRecording, find_subject
from instruments.sweep import Sweep, average_volts

SENSORY = SweepSettings(window_ms=10, pretrigger_ms=1, sensitivity_mV_per_div=0.02)
MOTOR = SweepSettings(window_ms=20, pretrigger_ms=2, sensitivity_mV_per_div=5)
LATE = SweepSettings(window_ms=80, pretrigger_ms=5, sensitivity_mV_per_div=0.5, points=4000)
RNS = SweepSettings(window_ms=15, pretrigger_ms=2, sensitivity_mV_per_div=5)
SNAP_AVERAGES = 16


@dataclass(frozen=True)
class Row:
    study: str
    quantity: str
    configured: float
    recovered: float
    tolerance: str  # as written in ACCURACY.md
    ok: bool

    @property
    def error(self) -> float:
        return self.recovered - self.configured


@contextmanager
def sim_bench(seed: int = 21) -> Iterator[tuple[Bench, FastClock, SimBench]]:
    profile = load_bench_config()["sim"]
    with SimBench(seed=seed, settings=profile.sim_settings(), time_scale=50.0) as sim:
        clock = FastClock()
        bench = Bench.connect(profile, sim.resources, clock, sim_seed=seed)
        try:
            yield bench, clock, sim
        finally:
            bench.close()


def _stim(bench: Bench, clock: FastClock, current: float, width: float,
          settings: SweepSettings, interval: float = 1.0) -> Sweep:
    clock.sleep(interval)
    return bench.stimulate_and_record(current, width, settings)


def snap(bench: Bench, clock: FastClock, nerve: str, site: str, rec: str) -> dict[str, float]:
    bench.place_electrodes(nerve, site, rec)
    sweeps = [_stim(bench, clock, 25.0, 0.1, SENSORY, 0.5) for _ in range(SNAP_AVERAGES)]
    s = sweeps[0]
    r = rustcore.measure_sweep(average_volts(sweeps), s.sample_rate, s.t0)
    return {"onset_ms": r["onset"] * 1e3, "peak_ms": r["neg_peak_latency"] * 1e3,
            "amplitude_uV": r["neg_amplitude"] * 1e6}


def within(value: float, target: float, low: float, high: float) -> bool:
    return target - low <= value <= target + high


def sensory_rows(bench: Bench, clock: FastClock) -> list[Row]:
    bench.connect_subject("normal-adult")
    subject = find_subject("normal-adult")
    rows = []
    for nerve, site, place in (("median", "wrist", "D2"), ("ulnar", "wrist", "D5"),
                               ("radial", "forearm", "snuffbox"), ("sural", "calf", "ankle"),
                               ("median", "palm", "wrist")):
        rec = subject.recording(nerve, place)
        assert isinstance(rec, SensoryRecording)
        m = snap(bench, clock, nerve, site, place)
        amp_tol = max(0.15 * rec.snap_amplitude_uV, 3.0)
        name = f"SNAP {nerve}→{place} (16 averages)"
        rows += [
            Row(name, "peak latency ms", rec.peak_latency_ms, m["peak_ms"], "±0.10 ms",
                within(m["peak_ms"], rec.peak_latency_ms, 0.10, 0.10)),
            Row(name, "onset latency ms", rec.onset_latency_ms, m["onset_ms"],
                "−0.05/+0.15 ms (a dispersed SNAP's toe under the noise reads late; see above)",
                within(m["onset_ms"], rec.onset_latency_ms, 0.05, 0.15)),
            Row(name, "amplitude µV", rec.snap_amplitude_uV, m["amplitude_uV"],
                "±15 % or ±3 µV if larger (noise at the peak of a small SNAP)",
                within(m["amplitude_uV"], rec.snap_amplitude_uV, amp_tol, amp_tol)),
        ]
    return rows


def csi_rows(bench: Bench, clock: FastClock) -> list[Row]:
    """Combined Sensory Index (edx.md §6) on the mild carpal tunnel subject."""
    bench.connect_subject("cts-mild")
    subject = find_subject("cts-mild")
    pairs = ((("median", "palm", "wrist"), ("ulnar", "palm", "wrist")),
             (("median", "wrist", "D4"), ("ulnar", "wrist", "D4")),
             (("median", "wrist", "D1"), ("radial", "forearm", "D1")))
    configured = recovered = 0.0
    for a, b in pairs:
        ra, rb = subject.recording(a[0], a[2]), subject.recording(b[0], b[2])
        assert isinstance(ra, SensoryRecording) and isinstance(rb, SensoryRecording)
        configured += ra.peak_latency_ms - rb.peak_latency_ms
        recovered += snap(bench, clock, *a)["peak_ms"] - snap(bench, clock, *b)["peak_ms"]
    return [Row("CSI cts-mild (palm + ring + thumb)", "CSI ms", configured, recovered,
                "±0.25 ms", within(recovered, configured, 0.25, 0.25))]


def f_wave_rows(bench: Bench, clock: FastClock) -> list[Row]:
    bench.connect_subject("normal-adult")
    spec = find_subject("normal-adult").recording("ulnar", "ADM")
    bench.place_electrodes("ulnar", "wrist", "ADM")
    sweeps = [_stim(bench, clock, 40.0, 0.2, LATE) for _ in range(20)]
    s = sweeps[0]
    r = rustcore.f_waves(np.array([x.volts() for x in sweeps]), s.sample_rate, s.t0,
                         window=(0.020, 0.070), k=10.0, min_amplitude=100e-6)
    f = spec.f_wave  # type: ignore[union-attr]
    assert f is not None
    name = "F-waves ulnar/ADM, 20 stimuli"
    return [
        Row(name, "min latency ms", f.min_latency_ms, r["min_latency"] * 1e3,
            "−0.1/+0.8 ms", within(r["min_latency"] * 1e3, f.min_latency_ms, 0.1, 0.8)),
        Row(name, "persistence %", f.persistence * 100, r["persistence"],
            "±20 points (binomial, 20 stimuli)",
            within(r["persistence"], f.persistence * 100, 20, 20)),
        Row(name, "chronodispersion ms", f.chronodispersion_ms, r["chronodispersion"] * 1e3,
            "±1.5 ms", within(r["chronodispersion"] * 1e3, f.chronodispersion_ms, 1.5, 1.5)),
    ]


def h_reflex_rows(bench: Bench, clock: FastClock) -> list[Row]:
    bench.connect_subject("normal-adult")
    rec = find_subject("normal-adult").recording("tibial", "soleus")
    h = rec.h_reflex  # type: ignore[union-attr]
    assert h is not None
    bench.place_electrodes("tibial", "popliteal-fossa", "soleus")
    currents = [3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 14.0, 20.0, 30.0, 40.0]
    sweeps = [_stim(bench, clock, c, 1.0, LATE, 2.0) for c in currents]
    s = sweeps[0]
    r = rustcore.h_reflex(np.array([x.volts() for x in sweeps]), s.sample_rate, s.t0,
                          m_window=(0.002, 0.020), h_window=(0.024, 0.045), k=10.0)
    amps = r["h_amplitude"] * 1e3
    suppressed = float(amps[-1] / max(r["h_max"] * 1e3, 1e-9))
    name = "H-reflex tibial/soleus, 1 ms pulses 3–40 mA"
    return [
        Row(name, "latency at H max ms", h.latency_ms, r["h_max_latency"] * 1e3, "±0.5 ms",
            within(r["h_max_latency"] * 1e3, h.latency_ms, 0.5, 0.5)),
        Row(name, "H max mV (p-p, configured is baseline-to-peak)", h.max_amplitude_mV,
            r["h_max"] * 1e3, "0.7–2.0 × (p-p of a biphasic wave)",
            0.7 * h.max_amplitude_mV <= r["h_max"] * 1e3 <= 2.0 * h.max_amplitude_mV),
        Row(name, "H at 40 mA / H max", 0.0, suppressed, "< 0.2 (collision)", suppressed < 0.2),
    ]


def motor_rows(bench: Bench, clock: FastClock) -> list[Row]:
    """Median motor (APB), normal-adult: wrist and elbow at supramaximal currents."""
    bench.connect_subject("normal-adult")
    rec = find_subject("normal-adult").recording("median", "APB")
    assert isinstance(rec, MotorRecording)
    bench.place_electrodes("median", "wrist", "APB")
    wrist = rustcore_cmap(_stim(bench, clock, 40.0, 0.2, MOTOR))
    bench.place_electrodes("median", "elbow", "APB")
    elbow = rustcore_cmap(_stim(bench, clock, 60.0, 0.2, MOTOR))
    distance = bench.measure_distance("median", "wrist", "elbow")
    assert distance is not None
    velocity = distance / (elbow["onset_ms"] - wrist["onset_ms"])
    configured_v = rec.sites[1].segment.velocity_m_s  # type: ignore[union-attr]
    name = "Motor median→APB, wrist 40 mA / elbow 60 mA"
    return [
        Row(name, "distal latency ms", rec.distal_latency_ms, wrist["onset_ms"], "±0.05 ms",
            within(wrist["onset_ms"], rec.distal_latency_ms, 0.05, 0.05)),
        Row(name, "CMAP amplitude mV", rec.cmap_amplitude_mV, wrist["amplitude_mV"], "±3 %",
            within(wrist["amplitude_mV"], rec.cmap_amplitude_mV, 0.03 * rec.cmap_amplitude_mV,
                   0.03 * rec.cmap_amplitude_mV)),
        Row(name, "forearm velocity m/s", configured_v, velocity, "±2 m/s",
            within(velocity, configured_v, 2, 2)),
    ]


def rustcore_cmap(sweep: Sweep) -> dict[str, float]:
    r = rustcore.measure_sweep(sweep.volts(), sweep.sample_rate, sweep.t0)
    return {"onset_ms": r["onset"] * 1e3, "amplitude_mV": r["neg_amplitude"] * 1e3}


def rns_rows(bench: Bench, clock: FastClock) -> list[Row]:
    rows = []
    bench.connect_subject("myasthenia-gravis")
    for nerve, muscle in (("median", "APB"), ("ulnar", "ADM")):
        spec = find_subject("myasthenia-gravis").recording(nerve, muscle)
        bench.place_electrodes(nerve, "wrist", muscle)
        clock.sleep(5.0)
        sweeps = bench.stimulate_train(40.0, 0.2, 3.0, 10, RNS)
        s = sweeps[0]
        r = rustcore.repetitive_stimulation(np.array([x.volts() for x in sweeps]),
                                            s.sample_rate, s.t0)
        rows.append(Row(f"RNS 3 Hz × 10, myasthenia-gravis {muscle}", "decrement 4th %",
                        spec.rns.decrement_pct, r["decrement_4th"],  # type: ignore[union-attr]
                        "±3 points",
                        within(r["decrement_4th"], spec.rns.decrement_pct, 3, 3)))  # type: ignore[union-attr]
    bench.connect_subject("lambert-eaton")
    rec = find_subject("lambert-eaton").recording("median", "APB")
    bench.place_electrodes("median", "wrist", "APB")
    clock.sleep(300.0)
    rest = bench.stimulate_train(40.0, 0.2, 3.0, 10, RNS)
    clock.sleep(10.0)  # 10 s of maximal contraction, ending now
    bench.exercise(10.0)
    clock.sleep(1.0)
    after = bench.stimulate_train(40.0, 0.2, 3.0, 10, RNS)
    first = [rustcore.measure_sweep(x[0].volts(), x[0].sample_rate, x[0].t0)["neg_amplitude"]
             for x in (rest, after)]
    increment = (first[1] / first[0] - 1.0) * 100
    name = "RNS lambert-eaton APB"
    rows += [
        Row(name, "baseline CMAP mV", rec.cmap_amplitude_mV, first[0] * 1e3, "±5 %",  # type: ignore[union-attr]
            within(first[0] * 1e3, rec.cmap_amplitude_mV, 0.05 * rec.cmap_amplitude_mV,  # type: ignore[union-attr]
                   0.05 * rec.cmap_amplitude_mV)),  # type: ignore[union-attr]
        Row(name, "post-exercise increment % (1 s after 10 s exercise)",
            rec.rns.post_exercise_increment_pct, increment,  # type: ignore[union-attr]
            "−20/+5 points (fades with τ 20 s)",
            within(increment, rec.rns.post_exercise_increment_pct, 20, 5)),  # type: ignore[union-attr]
    ]
    clock.sleep(600.0)
    fast = bench.stimulate_train(40.0, 0.2, 30.0, 30, RNS)
    amps = [rustcore.measure_sweep(x.volts(), x.sample_rate, x.t0)["neg_amplitude"] for x in fast]
    expected = rec.rns.high_rate_increment_pct * (1 - np.exp(-29 / 30.0 / 0.2))  # type: ignore[union-attr]
    high = (amps[-1] / amps[0] - 1.0) * 100
    rows.append(Row(name, "30 Hz × 30 increment %", float(expected), high, "±15 points",
                    within(high, float(expected), 15, 15)))
    return rows


ALL: tuple[Callable[[Bench, FastClock], list[Row]], ...] = (
    motor_rows, sensory_rows, csi_rows, f_wave_rows, h_reflex_rows, rns_rows)
