"""Needle EMG recordings from the sim bench measured with rustcore (configured vs recovered)."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, iirnotch, sosfiltfilt, tf2sos

import rustcore
from instruments.bench import Bench
from instruments.clock import FastClock
from instruments.sim.needle_emg import GRADE_GENERATORS, NeedleEmgModel
from instruments.sim.subject_spec import find_subject
from tests.instruments.study_measures import Row, within

FS = 20_000.0
# Spontaneous potentials are detected on a 300 Hz–5 kHz band-passed copy (rustcore.pyi).
DETECT_SOS = butter(2, [300, 5000], "bandpass", fs=FS, output="sos")


# Mains notch, as on an EMG machine: rustcore measures potential durations on the raw
# signal, and 8 µV of 50 Hz hum shortens a PSW's slow negative phase into a fibrillation's.
NOTCH_SOS = tf2sos(*iirnotch(50.0, 5.0, fs=FS))


def _detect(x: np.ndarray) -> np.ndarray:
    return rustcore.sos_filter(x, DETECT_SOS, zero_phase=True)


def _spontaneous(x: np.ndarray, fs: float) -> dict:  # type: ignore[type-arg]
    clean = sosfiltfilt(NOTCH_SOS, x)
    return dict(rustcore.spontaneous_activity(clean, fs, detect=_detect(clean)))


def _model(subject: str, muscle: str) -> NeedleEmgModel:
    s = find_subject(subject)
    return NeedleEmgModel(s.id, s.side, s.muscle(muscle))


def needle_rows(bench: Bench, clock: FastClock) -> list[Row]:
    rows = []
    bench.connect_subject("normal-adult")
    bench.place_needle("deltoid")
    bench.set_effort(0.0)
    bench.record_continuous(500, FS, 0.1)  # insertional burst: let it pass
    model = _model("normal-adult", "deltoid")
    effort = 0.1
    bench.set_effort(effort)
    sweep = bench.record_continuous(4000, FS, 0.1)
    d = rustcore.decompose_emg(sweep.volts(), sweep.sample_rate)
    unit = model.units[0]
    name = f"needle deltoid, effort {effort} (one unit)"
    n = int(d["n_units"])
    rate = float(d["firing_rate"][0]) if n else float("nan")
    amp = float(d["amplitude"][0]) * 1e6 if n else float("nan")
    dur = float(d["duration"][0]) * 1e3 if n else float("nan")
    phases = int(d["phases"][0]) if n else -1
    rows += [
        Row(name, "units found", model.active_units(effort), n, "exact", n ==
            model.active_units(effort)),
        Row(name, "firing rate Hz", model.rate_hz(0, effort), rate, "±10 %",
            within(rate, model.rate_hz(0, effort), 0.1 * rate, 0.1 * rate)),
        Row(name, "MUAP amplitude µV p-p", unit.amplitude_uV, amp, "±10 %",
            within(amp, unit.amplitude_uV, 0.1 * unit.amplitude_uV, 0.1 * unit.amplitude_uV)),
        Row(name, "MUAP duration ms (5 % threshold)", unit.duration_ms, dur, "±10 %",
            within(dur, unit.duration_ms, 0.1 * unit.duration_ms, 0.1 * unit.duration_ms)),
        Row(name, "MUAP phases", unit.phases, phases, "exact", phases == unit.phases),
    ]
    bench.connect_subject("c6-radiculopathy")
    bench.place_needle("biceps")
    bench.set_effort(0.0)
    bench.record_continuous(500, FS, 0.1)
    rest = bench.record_continuous(10_000, FS, 0.1)
    sp = _spontaneous(rest.volts(), rest.sample_rate)
    model = _model("c6-radiculopathy", "biceps")
    fib_rate = sum(g[2] for g in model.fibs)
    psw_rate = sum(g[2] for g in model.psws)
    name = "needle biceps at rest, c6-radiculopathy (fibs 2+, PSW 2+)"
    rows += [
        Row(name, f"fibrillations /s ({GRADE_GENERATORS[2]} generators)", fib_rate,
            sp["fibrillation_rate"], "±30 %",
            within(sp["fibrillation_rate"], fib_rate, 0.3 * fib_rate, 0.3 * fib_rate)),
        Row(name, "positive sharp waves /s", psw_rate, sp["positive_sharp_wave_rate"],
            "0.4–1.3 × (overlapping and < 60 µV PSWs are missed)",
            0.4 * psw_rate <= sp["positive_sharp_wave_rate"] <= 1.3 * psw_rate),
    ]
    bench.connect_subject("normal-adult")
    bench.place_needle("deltoid")
    bench.record_continuous(500, FS, 0.1)
    quiet = bench.record_continuous(5_000, FS, 0.1)
    sq = _spontaneous(quiet.volts(), quiet.sample_rate)
    events = sq["n_fibrillations"] + sq["n_positive_sharp_waves"]
    rows.append(Row("needle deltoid at rest, normal-adult", "fibs + PSWs in 5 s", 0, events,
                    "≤ 1 false detection", events <= 1))
    return rows
