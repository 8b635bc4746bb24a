"""Compound muscle action potential (CMAP) from a pool of motor units.

Each motor unit contributes a negative-first biphasic surface potential with a
linear takeoff. Its arrival time at the muscle is the nerve conduction time of
its axon: the fastest axon conducts at the configured segment velocity, slower
ones spread below it (half-normal), so dispersion grows with distance and
onset-to-onset velocity measures the fastest fibres, as in a real study.
Large, fast axons have lower electrical thresholds, so they are recruited first.
"""

from __future__ import annotations

import hashlib
from statistics import NormalDist

import numpy as np

from instruments.sim.subject_spec import MotorRecording, Nerve, Subject

# Positive-phase shape constant: negative phase lasts 2·T, the positive phase
# peaks at about a third of the negative one.
_SHAPE_C = 2.0
_TAPER = 4.0


def muap_shape(x: np.ndarray) -> np.ndarray:
    """Unit MUAP of normalised time x = τ/T: 0 before takeoff, slope −e at takeoff.

    The positive phase is tapered (exp(−(x/4)⁴)) so the potential is back at baseline by
    x ≈ 7, as a real CMAP is well before the F-wave and H-reflex windows."""
    xp = np.maximum(x, 0.0)
    wave = -xp * np.exp(1.0 - xp - (xp / _TAPER) ** 4) * (1.0 - xp / _SHAPE_C)
    return np.where(x > 0.0, wave, 0.0)


def stable_seed(*parts: str) -> int:
    """A seed that depends only on the subject: the same person every session."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def axon_ranks(n: int) -> np.ndarray:
    """Axon "slowness" ranks: half-normal quantiles, the fastest axon exactly 0."""
    normal = NormalDist()
    return np.array([normal.inv_cdf(0.5 + 0.5 * i / n) for i in range(n)])


class MotorResponseModel:
    """The motor units behind one nerve/muscle pair of one subject."""

    kind = "motor"

    def __init__(self, subject: Subject, nerve: Nerve, rec: MotorRecording) -> None:
        self.nerve = nerve
        self.rec = rec
        n = rec.motor_units
        rng = np.random.default_rng(stable_seed(subject.id, nerve.name, rec.muscle))
        self.z = axon_ranks(n)
        # Size principle: fast axons drive large units.
        self.weight = np.exp(-0.6 * self.z) * rng.lognormal(0.0, 0.25, n)
        self.width_s = rec.muap_negative_phase_ms / _SHAPE_C * 1e-3 * rng.uniform(0.85, 1.15, n)
        # Electrical threshold order follows axon size, loosely.
        order = np.argsort(self.z + rng.normal(0.0, 0.3, n))
        self.quantile = np.empty(n)
        self.quantile[order] = (np.arange(n) + 0.5) / n
        self.arrival_s, self.conducting = self._conduction(rng)
        self.scale = 1.0
        self.scale = self._normalising_scale()

    def _conduction(self, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
        rec = self.rec
        dl = rec.distal_latency_ms * 1e-3
        terminal = rec.terminal_latency_ms * 1e-3
        rel = np.maximum(1.0 - rec.distal_velocity_spread_pct / 100.0 * self.z, 0.3)
        arrivals = [dl + (dl - terminal) * (1.0 / rel - 1.0)]
        conducting = [np.ones(rec.motor_units, dtype=bool)]
        for site in rec.sites[1:]:
            seg = site.segment
            assert seg is not None
            v = np.maximum(seg.velocity_m_s - seg.velocity_spread_m_s * self.z,
                           0.3 * seg.velocity_m_s)
            arrivals.append(arrivals[-1] + site.distance_mm * 1e-3 / v)
            blocked = rng.uniform(0.0, 1.0, rec.motor_units) < seg.block_fraction
            conducting.append(conducting[-1] & ~blocked)
        return arrivals, conducting

    def sum_units(self, t: np.ndarray, site: int, units: np.ndarray) -> np.ndarray:
        arr = self.arrival_s[site][units]
        x = (t[:, None] - arr[None, :]) / self.width_s[units][None, :]
        return self.scale * (muap_shape(x) @ self.weight[units])

    def _normalising_scale(self) -> float:
        t = np.arange(0.0, 0.08, 5e-6)
        trace = self.sum_units(t, 0, np.ones(self.rec.motor_units, dtype=bool))
        return self.rec.cmap_amplitude_mV * 1e-3 / -float(trace.min())

    def effective_current(self, current_mA: float, pulse_width_ms: float) -> float:
        """Current at the reference width with the same effect (Weiss strength–duration)."""
        c = self.nerve.chronaxie_ms
        ref = self.nerve.reference_pulse_width_ms
        return current_mA * (1.0 + c / ref) / (1.0 + c / max(pulse_width_ms, 1e-6))

    def recruited_fraction(self, site: int, current_mA: float, pulse_width_ms: float) -> float:
        return self.rec.sites[site].recruitment.fraction(
            self.effective_current(current_mA, pulse_width_ms)
        )

    def recruited(
        self, site: int, current_mA: float, pulse_width_ms: float, rng: np.random.Generator
    ) -> np.ndarray:
        fraction = self.recruited_fraction(site, current_mA, pulse_width_ms)
        jitter = rng.normal(0.0, 0.005, self.rec.motor_units)  # trial-to-trial excitability
        return (self.quantile + jitter < fraction) & self.conducting[site]

    def response(
        self,
        t: np.ndarray,
        site: int,
        current_mA: float,
        pulse_width_ms: float,
        rng: np.random.Generator,
        factor: float = 1.0,
    ) -> np.ndarray:
        """Volts at the recording electrodes at times `t` (s after the stimulus).

        `factor` scales the whole response (neuromuscular transmission, see nmj.py).
        """
        units = self.recruited(site, current_mA, pulse_width_ms, rng)
        if not units.any():
            return np.zeros_like(t)
        return factor * self.sum_units(t, site, units)
