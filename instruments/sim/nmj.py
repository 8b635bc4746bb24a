"""Neuromuscular transmission under repetitive nerve stimulation (RNS).

A factor on the whole CMAP for pulse k of a train: postsynaptic failure (myasthenia)
gives a decrement largest at the 4th–5th response with slight recovery after (the
"U" shape), repaired just after exercise and worse at 1–4 min (exhaustion);
presynaptic failure (Lambert–Eaton) gives a low baseline that rises after brief
exercise or during a fast train. See edx.md §3 and §4 (RNS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from instruments.sim.response_spec import Rns

# Share of the full decrement at each response of a train (4th = index 3 is the full value).
DECREMENT_SHAPE = (0.0, 0.55, 0.85, 1.0, 1.0, 0.95, 0.9, 0.88, 0.9, 0.93)
FACILITATION_DECAY_S = 20.0  # post-exercise facilitation fades within about a minute
HIGH_RATE_RISE_S = 0.2  # build-up of the increment during a fast train
HIGH_RATE_HZ = 10.0


@dataclass(frozen=True)
class PulseContext:
    """Where a pulse sits: its index in a train, the train period, time since exercise."""

    index: int = 0
    period_s: float | None = None  # None: a single stimulus
    since_exercise_s: float | None = None
    exercise_s: float = 0.0


def amplitude_factor(spec: Rns, pulse: PulseContext) -> float:
    effort = min(1.0, pulse.exercise_s / 10.0) if pulse.since_exercise_s is not None else 0.0
    since = pulse.since_exercise_s or 0.0
    factor = 1.0 + spec.post_exercise_increment_pct / 100.0 * effort * math.exp(
        -since / FACILITATION_DECAY_S)
    if pulse.period_s is None or pulse.index == 0:
        return factor
    rate = 1.0 / pulse.period_s
    k = pulse.index
    if rate >= HIGH_RATE_HZ and spec.high_rate_increment_pct > 0:
        rise = 1.0 - math.exp(-k * pulse.period_s / HIGH_RATE_RISE_S)
        return factor * (1.0 + spec.high_rate_increment_pct / 100.0 * rise)
    if spec.decrement_pct <= 0:
        return factor
    if since < 60.0:
        severity = 0.5  # post-exercise repair
    elif since < 240.0:
        severity = 1.5  # post-exercise exhaustion
    else:
        severity = 1.0
    severity = 1.0 + (severity - 1.0) * effort
    weight = min(1.0, max(0.0, (rate - 0.5) / 1.5))
    shape = DECREMENT_SHAPE[min(k, len(DECREMENT_SHAPE) - 1)]
    return factor * max(0.05, 1.0 - spec.decrement_pct / 100.0 * severity * weight * shape)
