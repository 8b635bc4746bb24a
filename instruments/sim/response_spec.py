"""Subject-file specs beyond the CMAP: SNAP recordings, F-waves, H-reflex, RNS.

Parsed from the recordings of `nerves:` (see data/subjects/README.md). Each value is
what a correct study of the subject should measure; the models in `sensory.py`,
`late_responses.py` and `nmj.py` are built so that it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from instruments.sim.spec_reader import Reader


@dataclass(frozen=True)
class Recruitment:
    """Logistic current → fraction of the maximal response at the reference pulse width."""

    threshold_mA: float  # current that recruits 1 % of the units
    slope_per_mA: float

    def fraction(self, current_mA: float) -> float:
        midpoint = self.threshold_mA + math.log(99.0) / self.slope_per_mA
        x = -self.slope_per_mA * (current_mA - midpoint)
        return 0.0 if x > 700 else 1.0 / (1.0 + math.exp(x))


@dataclass(frozen=True)
class FWave:
    """Late responses at the distal site (they shorten by 2× the conduction time proximally)."""

    min_latency_ms: float
    persistence: float  # probability that a supramaximal stimulus evokes an F-wave
    chronodispersion_ms: float  # spread of latencies above the minimum
    amplitude_pct: float  # mean F amplitude as % of the supramaximal M amplitude


@dataclass(frozen=True)
class HReflex:
    """Monosynaptic reflex via Ia afferents: low threshold, collides away at high current."""

    latency_ms: float
    max_amplitude_mV: float
    recruitment: Recruitment  # of the Ia afferents (below the motor threshold)


@dataclass(frozen=True)
class Rns:
    """Neuromuscular transmission under repetitive stimulation.

    `decrement_pct`: (1st − 4th)/1st at 2–5 Hz (postsynaptic, e.g. myasthenia).
    `post_exercise_increment_pct`: first response right after 10 s of maximal effort,
    relative to rest (presynaptic facilitation, LEMS; small in normals).
    `high_rate_increment_pct`: last vs first response of a 20–50 Hz train.
    """

    decrement_pct: float = 0.0
    post_exercise_increment_pct: float = 0.0
    high_rate_increment_pct: float = 0.0


def recruitment(r: Reader, data: Any, where: str) -> Recruitment:
    rec = r.mapping(data, where)
    return Recruitment(
        r.number(rec, "threshold_mA", where, maximum=100),
        r.number(rec, "slope_per_mA", where, maximum=100),
    )


def f_wave(r: Reader, data: Any, where: str) -> FWave:
    d = r.mapping(data, where)
    return FWave(
        min_latency_ms=r.number(d, "min_latency_ms", where, maximum=100),
        persistence=r.fraction(d, "persistence", where, default=0.9),
        chronodispersion_ms=r.number(d, "chronodispersion_ms", where, maximum=30, default=4.0),
        amplitude_pct=r.number(d, "amplitude_pct", where, maximum=20, default=2.5),
    )


def h_reflex(r: Reader, data: Any, where: str) -> HReflex:
    d = r.mapping(data, where)
    return HReflex(
        latency_ms=r.number(d, "latency_ms", where, maximum=100),
        max_amplitude_mV=r.number(d, "max_amplitude_mV", where, maximum=30, strict=False),
        recruitment=recruitment(r, r.get(d, "recruitment", where), f"{where}.recruitment"),
    )


def rns(r: Reader, data: Any, where: str) -> Rns:
    d = r.mapping(data, where)
    return Rns(
        decrement_pct=r.number(d, "decrement_pct", where, maximum=90, strict=False, default=0.0),
        post_exercise_increment_pct=r.number(
            d, "post_exercise_increment_pct", where, maximum=1000, strict=False, default=0.0),
        high_rate_increment_pct=r.number(
            d, "high_rate_increment_pct", where, maximum=1000, strict=False, default=0.0),
    )
