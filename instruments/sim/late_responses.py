"""F-waves and the H-reflex, added to the direct motor response (M-wave).

F-wave: a few motor neurons backfire after the antidromic volley reaches the cord;
present on a share of stimuli (persistence), latency varying above a minimum
(chronodispersion), amplitude a few % of M. Proximal stimulation shortens it by twice
the conduction time between the sites; blocked axons carry no F.

H-reflex: Ia afferents have a lower threshold than motor axons, so it appears at low
current and is cancelled by collision as the motor volley grows (supramaximal: gone).
"""

from __future__ import annotations

import numpy as np

from instruments.sim.physiology import MotorResponseModel, muap_shape


def f_wave(model: MotorResponseModel, site: int, motor_fraction: float, t: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    spec = model.rec.f_wave
    if spec is None:
        return np.zeros_like(t)
    conducting = float(model.conducting[-1].mean())
    if rng.random() >= spec.persistence * motor_fraction * conducting:
        return np.zeros_like(t)
    fastest = [float(a.min()) for a in model.arrival_s]
    shift = 2.0 * (fastest[site] - fastest[0])
    latency = (spec.min_latency_ms * 1e-3 - shift
               + spec.chronodispersion_ms * 1e-3 * rng.beta(0.6, 0.6))
    amplitude = (spec.amplitude_pct / 100.0 * model.rec.cmap_amplitude_mV * 1e-3
                 * rng.lognormal(0.0, 0.3))
    components = int(rng.integers(1, 4))
    width = model.rec.muap_negative_phase_ms / 2.0 * 1e-3 * rng.uniform(0.8, 1.2, components)
    offsets = np.concatenate([[0.0], rng.uniform(0.4e-3, 2.0e-3, components - 1)])
    weights = np.concatenate([[1.0], rng.uniform(0.3, 0.9, components - 1)])
    x = (t[:, None] - latency - offsets[None, :]) / width[None, :]
    wave = muap_shape(x) @ weights
    peak = -float(wave.min())
    return wave * (amplitude / peak) if peak > 0 else wave


def h_reflex(model: MotorResponseModel, effective_mA: float, motor_fraction: float,
             t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    spec = model.rec.h_reflex
    if spec is None:
        return np.zeros_like(t)
    afferent = spec.recruitment.fraction(effective_mA)
    amplitude = spec.max_amplitude_mV * afferent * (1.0 - motor_fraction) * rng.lognormal(0, 0.05)
    if amplitude <= 0:
        return np.zeros_like(t)
    every = np.ones(model.rec.motor_units, dtype=bool)
    shift = spec.latency_ms * 1e-3 - float(model.arrival_s[0].min())
    ratio = amplitude / model.rec.cmap_amplitude_mV
    return ratio * model.sum_units(t - shift, 0, every)
