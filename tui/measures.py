"""Provisional sweep measures for display: rustcore's SI dict → clinical units.

A sweep's measures are shown the moment it arrives, before the operator accepts it; the
engine's flagged `Measurement`s replace them when the step completes. This module knows
only units, never reference limits, so nothing provisional can look like a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# rustcore key → display name, SI factor to clinical units for mV-sized and µV-sized responses
_QUANTITIES: tuple[tuple[str, str, str, float, str, float], ...] = (
    ("onset", "onset", "ms", 1e3, "ms", 1e3),
    ("neg_peak_latency", "neg peak latency", "ms", 1e3, "ms", 1e3),
    ("neg_amplitude", "neg amplitude", "mV", 1e3, "µV", 1e6),
    ("p2p_amplitude", "p2p amplitude", "mV", 1e3, "µV", 1e6),
    ("neg_duration", "neg duration", "ms", 1e3, "ms", 1e3),
    ("neg_area", "neg area", "mV·ms", 1e6, "µV·ms", 1e9),
)
SMALL_RESPONSE_V = 1e-3  # below 1 mV (sensory responses) amplitudes read better in µV


@dataclass(frozen=True)
class ProvisionalValue:
    key: str  # rustcore key
    name: str
    value: float | None
    unit: str


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def provisional_values(measures: dict[str, Any]) -> list[ProvisionalValue]:
    """Every quantity rustcore measured on one sweep, in clinical units (None: unmeasurable)."""
    amplitude = _finite(measures.get("neg_amplitude"))
    small = amplitude is not None and abs(amplitude) < SMALL_RESPONSE_V
    out = []
    for key, name, unit, factor, small_unit, small_factor in _QUANTITIES:
        raw = _finite(measures.get(key))
        scale, shown_unit = (small_factor, small_unit) if small else (factor, unit)
        out.append(ProvisionalValue(key, name, None if raw is None else raw * scale, shown_unit))
    return out


def compact_summary(measures: dict[str, Any]) -> str:
    """One short line for the status bar: 'onset 3.50 · peak 7.50 ms · amp 8.00 mV'."""
    values = {v.key: v for v in provisional_values(measures)}

    def fmt(key: str) -> str:
        value = values[key].value
        return "–" if value is None else f"{value:.2f}"

    amplitude = values["neg_amplitude"]
    return (f"onset {fmt('onset')} · peak {fmt('neg_peak_latency')} ms · "
            f"amp {fmt('neg_amplitude')} {amplitude.unit}")
