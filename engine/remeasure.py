"""Re-measuring a stored sweep after an operator fixed its onset or negative-peak marker.

rustcore places the markers itself; when a reviewer moves one, the values that depend on
it (latencies, amplitudes, duration, area) must follow at once. rustcore still supplies
the baseline and noise (the same 8-lane sums the engine used), and every marker the
operator did not move keeps rustcore's position; only the dependent values are derived
here from the fixed marker times, with the definitions of `rustcore.pyi`:

- amplitude: baseline minus the signal at the negative peak (linear interpolation);
- positive peak: the first maximum after the negative peak;
- return to baseline: the first sample after the peak whose deviation is ≤ 0,
  interpolated to the crossing; duration = return − onset;
- area: trapezoidal integral of the deviation from onset to return, with the partial
  first and last intervals taken on the linear interpolant.

The verdict of a revised value comes from the same reference entry that judged the
original (`engine.reference.judge`), so an edit can turn a flag on or off but never
invents a limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

import rustcore
from engine.compute import compute, unreliable_inputs
from engine.events import Outcome
from engine.protocol import ComputeStep, Protocol
from engine.reference import ReferenceEntry, judge, load_references
from engine.runner import RESPONSE_QUANTITIES

MARKERS = ("onset", "peak")


class RemeasureError(ValueError):
    """The fixed markers cannot be used on this sweep (the message says why)."""


@dataclass(frozen=True)
class Revised:
    """One stored measurement's new value and verdict after a marker edit."""

    measurement_id: int
    name: str
    value: float | None
    unit: str
    outcome: Outcome
    note: str


def _interp(volts: np.ndarray, pos: float) -> float:
    lo = min(max(math.floor(pos), 0), volts.shape[0] - 1)
    hi = min(lo + 1, volts.shape[0] - 1)
    frac = pos - lo
    return float(volts[lo]) * (1.0 - frac) + float(volts[hi]) * frac


def remeasure_sweep(volts: np.ndarray, sample_rate: float, t0: float, *,
                    onset_s: float | None = None, peak_s: float | None = None,
                    search_start: float = 0.001) -> dict[str, Any]:
    """rustcore's measures of the sweep with the given markers fixed (SI units).

    A marker left as None keeps rustcore's automatic position. Raises RemeasureError when a
    fixed marker lies off the sweep or the onset is not before the peak."""
    volts = np.ascontiguousarray(volts, dtype=np.float64)
    auto = dict(rustcore.measure_sweep(volts, sample_rate, t0, search_start=search_start))
    if onset_s is None and peak_s is None:
        return auto
    n = int(volts.shape[0])
    t_end = t0 + (n - 1) / sample_rate
    for name, t in (("onset", onset_s), ("peak", peak_s)):
        if t is not None and not (math.isfinite(t) and t0 <= t <= t_end):
            raise RemeasureError(f"{name} marker {t * 1e3:.3f} ms lies off the sweep")
    baseline = float(auto["baseline"])
    out = dict(auto)
    onset = onset_s if onset_s is not None else _finite_or_none(auto["onset"])
    peak = peak_s if peak_s is not None else _finite_or_none(auto["neg_peak_latency"])
    if onset is not None and peak is not None and onset >= peak:
        raise RemeasureError(f"onset {onset * 1e3:.3f} ms is not before the negative peak "
                             f"{peak * 1e3:.3f} ms")
    out["onset"] = math.nan if onset is None else onset
    for key in ("neg_peak_latency", "neg_amplitude", "pos_peak_latency", "pos_amplitude",
                "p2p_amplitude", "neg_duration", "neg_area", "total_duration", "total_area"):
        out[key] = math.nan  # recomputed below or left unmeasurable, never stale
    if peak is not None:
        pk = (peak - t0) * sample_rate
        v_peak = _interp(volts, pk)
        out["neg_peak_latency"] = peak
        out["neg_amplitude"] = baseline - v_peak
        after = math.floor(pk) + 1
        if after < n:
            i_max = after + int(np.argmax(volts[after:]))
            out["pos_peak_latency"] = t0 + i_max / sample_rate
            out["pos_amplitude"] = float(volts[i_max]) - baseline
            out["p2p_amplitude"] = float(volts[i_max]) - v_peak
        ret = _return_position(volts, baseline, pk)
        if ret is not None and onset is not None:
            out["neg_duration"] = t0 + ret / sample_rate - onset
            out["neg_area"] = _area(volts, baseline, (onset - t0) * sample_rate, ret) / sample_rate
            out["total_duration"] = out["neg_duration"]
            out["total_area"] = out["neg_area"]
    out["markers_fixed"] = [m for m, t in (("onset", onset_s), ("peak", peak_s)) if t is not None]
    return out


def _finite_or_none(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _return_position(volts: np.ndarray, baseline: float, peak_pos: float) -> float | None:
    """Sample position (fractional) where the deviation first comes back to 0 after the peak."""
    deviation = baseline - volts
    start = math.floor(peak_pos) + 1
    back = np.nonzero(deviation[start:] <= 0.0)[0]
    if back.size == 0:
        return None
    i = start + int(back[0])
    prev = float(deviation[i - 1])
    here = float(deviation[i])
    if prev <= 0.0 or prev == here:
        return float(i)
    return (i - 1) + prev / (prev - here)


def _area(volts: np.ndarray, baseline: float, start: float, end: float) -> float:
    """∫ deviation d(sample) from position start to end on the linear interpolant."""
    if end <= start:
        return 0.0
    inner = np.arange(math.floor(start) + 1, math.ceil(end), dtype=np.int64)
    knots = np.concatenate(([start], inner.astype(np.float64), [end]))
    values = np.concatenate(([baseline - _interp(volts, start)], baseline - volts[inner],
                             [baseline - _interp(volts, end)]))
    return float(np.sum(np.diff(knots) * (values[1:] + values[:-1]) / 2.0))


def quantity_for(name: str, unit: str) -> tuple[str, float] | None:
    """(rustcore key, factor to clinical units) of a stored response measurement."""
    for quantities in RESPONSE_QUANTITIES.values():
        for key, q_name, q_unit, factor in quantities:
            if q_name == name and q_unit == unit:
                return key, factor
    return None


def reference_entries(reference_id: str) -> dict[str, ReferenceEntry]:
    """The run's reference tables by entry id ("a+b" names several tables)."""
    ids = tuple(part for part in reference_id.split("+") if part)
    if not ids:
        return {}
    return {entry.id: entry for entry in load_references(ids).entries}


def revise_measurements(measurements: Iterable[dict[str, Any]], measures: dict[str, Any],
                        entries: dict[str, ReferenceEntry]) -> list[Revised]:
    """New values and verdicts for the stored measurements of one trace.

    `measurements` are rows of `storage.queries.measurements_with_revisions` for the trace;
    rows that are not response quantities (computed values) are left out."""
    revised: list[Revised] = []
    fixed = ", ".join(measures.get("markers_fixed") or []) or "none"
    for row in measurements:
        quantity = quantity_for(str(row["name"]), str(row["unit"]))
        if quantity is None:
            continue
        key, factor = quantity
        raw = measures.get(key)
        value = None if raw is None or not math.isfinite(float(raw)) \
            else round(float(raw) * factor, 4)
        entry = entries.get(str(row.get("reference_id") or ""))
        outcome = judge(value, entry) if entry is not None else "unflagged"
        revised.append(Revised(int(row["id"]), str(row["name"]), value, str(row["unit"]),
                               outcome, f"re-measured with operator-fixed markers ({fixed})"))
    return revised


def recompute_derived(protocol: Protocol, rows: Iterable[dict[str, Any]],
                      inputs: dict[str, float],
                      entries: dict[str, ReferenceEntry]) -> list[Revised]:
    """Compute-step values (velocities, drops, differences) from the run's current values.

    `rows` are all of the run's measurements with any revision already applied; compute
    steps run in protocol order, as in the engine, so one derived value can feed the next
    (`engine.compute.compute` does the arithmetic for both)."""
    rows = list(rows)
    measured = {f"{r['step_id']}.{r['name']}": float(r["value"]) for r in rows
                if r.get("value") is not None}
    unreliable = unreliable_inputs(protocol, rows)
    revised: list[Revised] = []
    for step in protocol.steps:
        if not isinstance(step, ComputeStep):
            continue
        row = next((r for r in rows if r["step_id"] == step.id and r.get("trace_id") is None),
                   None)
        if row is None:
            continue
        result = compute(step, protocol, measured, inputs, unreliable)
        key = f"{step.id}.{row['name']}"
        if result.value is None:
            measured.pop(key, None)
        else:
            measured[key] = float(result.value)
        entry = entries.get(str(row.get("reference_id") or ""))
        if entry is not None and entry.unit != row["unit"]:
            entry = None
        outcome = judge(result.value, entry) if entry is not None else "unflagged"
        revised.append(Revised(int(row["id"]), str(row["name"]), result.value, str(row["unit"]),
                               outcome, "recomputed from re-measured values"
                               + (f" ({result.note})" if result.note else "")))
    return revised
