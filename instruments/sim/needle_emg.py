"""Continuous needle EMG from one muscle: MUAP trains, spontaneous and insertional activity.

Motor units near the needle tip are recruited in order of threshold as effort rises
(onion skin: a unit starts at `onset_rate_hz` and speeds up with effort, so earlier
units always fire faster than later ones). Thresholds are spaced so the first unit fires
at `recruitment_frequency_hz` when the second joins: ~10 Hz normally, faster with few
units (neurogenic), slower with many weak units (myopathic, early recruitment).
Each MUAP is a windowed sinusoid with its configured peak-to-peak amplitude, duration
and number of phases. Fibrillations and positive sharp waves fire regularly from
a number of generators set by their 0–4+ grade; fasciculations fire irregularly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from instruments.sim.muscle_spec import Muscle
from instruments.sim.physiology import stable_seed

RATE_GAIN_HZ_PER_EFFORT = 40.0  # rate coding: Hz gained per unit of effort above threshold
FIRST_THRESHOLD = 0.02  # effort (0–1) that recruits the first unit
LAST_THRESHOLD = 0.75  # all units recruited by 75 % of maximal effort
ISI_CV = 0.12  # voluntary firing variability
WARP = 2.5  # steepness of the main spike relative to the slow initial/terminal phases
DURATION_FRACTION = 0.05
# Generators of spontaneous activity near the needle for each grade 0..4+ (sim model).
GRADE_GENERATORS = (0, 1, 3, 6, 12)


@dataclass(frozen=True)
class Unit:
    threshold: float  # effort at which it starts firing
    amplitude_uV: float  # peak-to-peak
    duration_ms: float
    phases: int


def _shape(phases: int, x: np.ndarray) -> np.ndarray:
    """`phases` alternating lobes (first positive); time is warped (tanh) so the middle
    lobes are sharp, as a MUAP's main spike is, and the first and last lobes slow."""
    warped = 0.5 + 0.5 * np.tanh(WARP * (2 * x - 1)) / np.tanh(WARP)
    return np.sin(phases * np.pi * warped) * np.sin(np.pi * x) ** 0.6


def _support_factor(phases: int) -> float:
    """Support / duration, where duration is the span above 5 % of peak-to-peak
    (how MUAP duration is measured), so the configured duration is what is measured."""
    x = (np.arange(4000) + 0.5) / 4000
    w = _shape(phases, x)
    above = np.nonzero(np.abs(w) >= DURATION_FRACTION * (w.max() - w.min()))[0]
    return 1.0 / float(x[above[-1]] - x[above[0]])


def muap_template(unit: Unit, fs: float) -> np.ndarray:
    """Volts at `fs`, exact peak-to-peak amplitude and 5 %-threshold duration."""
    n = max(round(unit.duration_ms * 1e-3 * fs * _support_factor(unit.phases)), 4)
    x = (np.arange(n) + 0.5) / n
    wave = _shape(unit.phases, x)
    return wave * (unit.amplitude_uV * 1e-6 / float(wave.max() - wave.min()))


def _lognormal(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    sigma2 = np.log(1.0 + (sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - sigma2 / 2.0, np.sqrt(sigma2), n)


def _place(out: np.ndarray, starts: np.ndarray, template: np.ndarray) -> None:
    if starts.size == 0:
        return
    idx = starts[:, None] + np.arange(template.size)[None, :]
    ok = (idx >= 0) & (idx < out.size)
    np.add.at(out, idx[ok], np.broadcast_to(template, idx.shape)[ok])


class NeedleEmgModel:
    def __init__(self, subject_id: str, side: str, muscle: Muscle) -> None:
        self.muscle = m = muscle
        rng = np.random.default_rng(stable_seed(subject_id, side, m.name, "needle"))
        n = m.units
        amps = np.sort(_lognormal(rng, m.muap_amplitude_uV, max(m.muap_amplitude_sd_uV, 1e-3), n))
        durs = np.clip(rng.normal(m.muap_duration_ms, m.muap_duration_sd_ms, n),
                       0.4 * m.muap_duration_ms, 2.0 * m.muap_duration_ms)
        poly = rng.uniform(0, 100, n) < m.polyphasic_pct
        phases = np.where(poly, rng.integers(5, 8, n), rng.choice([2, 3, 4], n, p=[.1, .7, .2]))
        gap = (m.recruitment_frequency_hz - m.onset_rate_hz) / RATE_GAIN_HZ_PER_EFFORT
        span = max(LAST_THRESHOLD - FIRST_THRESHOLD, gap)
        power = np.log(span / gap) / np.log(n - 1) if n > 2 and span > gap else 1.0
        thresholds = FIRST_THRESHOLD + gap * np.arange(n) ** max(power, 0.3)
        # Size principle, loosely: small units first.
        order = np.argsort(np.log(amps) + rng.normal(0.0, 0.15, n))
        self.units = [Unit(float(thresholds[i]), float(amps[order[i]]), float(durs[order[i]]),
                           int(phases[order[i]])) for i in range(n)]
        self.fibs = self._generators(rng, m.fibrillations, 80.0, (1.0, 4.0), (1.0, 12.0), "fib")
        self.psws = self._generators(rng, m.positive_sharp_waves, 120.0, (8.0, 15.0),
                                     (1.0, 10.0), "psw")

    @staticmethod
    def _generators(rng: np.random.Generator, grade: int, amp_uV: float,
                    dur_ms: tuple[float, float], rate_hz: tuple[float, float], kind: str
                    ) -> list[tuple[float, float, float, str]]:
        count = GRADE_GENERATORS[grade]
        return [(float(rng.lognormal(np.log(amp_uV), 0.4)), float(rng.uniform(*dur_ms)),
                 float(rng.uniform(*rate_hz)), kind) for _ in range(count)]

    def rate_hz(self, unit: int, effort: float) -> float:
        u, m = self.units[unit], self.muscle
        if effort < u.threshold or effort <= 0:
            return 0.0
        rate = m.onset_rate_hz + RATE_GAIN_HZ_PER_EFFORT * (effort - u.threshold)
        return min(rate, m.max_rate_hz)

    def active_units(self, effort: float) -> int:
        return sum(1 for i in range(len(self.units)) if self.rate_hz(i, effort) > 0)

    def stream(self, n: int, fs: float, effort: float, rng: np.random.Generator,
               insertion: bool = False) -> np.ndarray:
        """`n` samples at `fs` of needle EMG (volts at the electrodes), noise not included."""
        out = np.zeros(n)
        duration = n / fs
        for i, unit in enumerate(self.units):
            rate = self.rate_hz(i, effort)
            if rate > 0:
                times = self._train(rng, rate, ISI_CV, duration)
                _place(out, np.round(times * fs).astype(np.int64), muap_template(unit, fs))
        for amp, dur, rate, kind in self.fibs + self.psws:
            times = self._train(rng, rate, 0.02, duration)
            _place(out, np.round(times * fs).astype(np.int64), _spontaneous(kind, amp, dur, fs))
        fasc = self.muscle.fasciculations_per_min / 60.0
        if fasc > 0 and self.units:
            count = rng.poisson(fasc * duration)
            for start in rng.uniform(0, duration, count):
                unit = self.units[int(rng.integers(len(self.units)))]
                _place(out, np.array([int(start * fs)]), muap_template(unit, fs))
        if insertion and self.muscle.insertional_ms > 0:
            span = min(self.muscle.insertional_ms * 1e-3, duration)
            count = rng.poisson(300.0 * span)
            for start in rng.uniform(0, span, count):
                amp = float(rng.lognormal(np.log(150.0), 0.5))
                shape = _spontaneous("fib", amp, float(rng.uniform(1.0, 3.0)), fs)
                _place(out, np.array([int(start * fs)]), shape * rng.choice([-1.0, 1.0]))
        return out

    @staticmethod
    def _train(rng: np.random.Generator, rate: float, cv: float, duration: float) -> np.ndarray:
        mean = 1.0 / rate
        count = int(duration * rate * 1.5) + 3
        isi = np.maximum(rng.normal(mean, cv * mean, count), 0.3 * mean)
        times = rng.uniform(0, mean) + np.concatenate([[0.0], np.cumsum(isi[:-1])])
        return times[times < duration]


def _spontaneous(kind: str, amp_uV: float, dur_ms: float, fs: float) -> np.ndarray:
    """Fibrillation: brief biphasic spike, positive first. PSW: sharp positive, slow negative."""
    n = max(round(dur_ms * 1e-3 * fs), 4)
    x = (np.arange(n) + 0.5) / n
    if kind == "fib":
        wave = np.sin(2 * np.pi * x) * np.sin(np.pi * x) ** 0.6
    else:
        u = np.clip((x - 0.06) / 0.94, 0.0, 1.0)
        wave = np.exp(-((x - 0.06) / 0.03) ** 2) - 0.35 * np.minimum(1.0, u / 0.05) * (
            1.0 - u) ** 1.5
    return wave * (amp_uV * 1e-6 / float(wave.max() - wave.min()))
