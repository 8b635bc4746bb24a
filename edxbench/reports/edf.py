"""Traces as EDF+ (EDF+C): one signal per stored sweep, stimuli as annotations.

EDF+C with one signal per trace is what every reader opens (EDFbrowser, MNE, pyEDFlib,
edfio); EDF+D is refused or flattened by several of them. Each signal spans the file from
its sweep's first sample, so a sweep's stimulus sits at −t0 and is annotated there with
its site, current and pulse width. Raw digitiser codes go in unchanged as EDF digital
values with the scope's full-scale range as the physical range, so the export is
lossless for 8- and 16-bit digitisers; other codes are quantised to 16 bits over the
sweep's own range. Units are mV for sweeps whose range reaches 1 mV, else uV.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import edfio
import numpy as np

from edxbench import __version__
from edxbench.reports.model import ExportError, RunData
from storage.queries import StoredTrace

EDF_MIN, EDF_MAX = -32768, 32767


def render_edf(data: RunData) -> bytes:
    traces = data.traces
    if not traces:
        raise ExportError(f"run {data.run_id} has no traces to export as EDF")
    rates = [_rate(t.sample_rate) for t in traces]
    record = max(t.codes.size / rate for t, rate in zip(traces, rates, strict=True))
    record = _record_duration(record)
    signals: list[edfio.EdfSignal] = []
    annotations: list[edfio.EdfAnnotation] = []
    for number, (trace, rate) in enumerate(zip(traces, rates, strict=True), start=1):
        per_record = rate * record
        if abs(per_record - round(per_record)) > 1e-6 * per_record:
            raise ExportError(f"trace {trace.id}: {rate:g} Hz gives no whole number of "
                              f"samples in a {record:g} s EDF data record")
        label = _ascii(f"{'F' if trace.role == 'final' else 'S'}{number:02d} {trace.site}", 16)
        signals.append(_signal(trace, rate, round(per_record), label))
        stimulus_at = -trace.t0
        if 0 <= stimulus_at < record:
            annotations.append(edfio.EdfAnnotation(
                round(stimulus_at, 7), None,
                _ascii(f"Stimulus {trace.site} {trace.current_mA:g} mA "
                       f"{trace.pulse_width_ms:g} ms [{label}]", 120)))
        if trace.codes.size / rate < record - 1e-12:
            annotations.append(edfio.EdfAnnotation(
                round(trace.codes.size / rate, 7), None, f"End of sweep [{label}]"))
    if data.interpretation:  # the reading travels with the traces, marked for confirmation
        where = data.interpretation.get("localisation") or {}
        site = f": {where['site']}" if where.get("site") else ""
        annotations.append(edfio.EdfAnnotation(0.0, None, _ascii(
            f"Interpretation: {where.get('level', 'none')}{site}; nature "
            f"{data.interpretation.get('nature', '')}; requires confirmation by the reader",
            200)))
    start = _start(str(data.run["started_at"]))
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(code=_field(str(data.run["subject_id"]))),
        recording=edfio.Recording(
            startdate=start.date(),
            investigator_technician_code=_field(str(data.run.get("operator") or "X")),
            equipment_code=_field(f"edxbench-{__version__}"),
            additional=(_field(str(data.run["protocol_id"])), data.run_id[:8])),
        # Whole seconds: the signals are sweeps timed from their own first sample, not wall
        # time, and a sub-second start offset is misread by some readers (pyEDFlib 0.1.42).
        starttime=start.time().replace(tzinfo=None, microsecond=0),
        data_record_duration=record,
        annotations=annotations,
    )
    return bytes(edf.to_bytes())


def _signal(trace: StoredTrace, rate: float, n_total: int, label: str) -> edfio.EdfSignal:
    digital, (d_lo, d_hi), (p_lo, p_hi), unit = _digitise(trace)
    if digital.size < n_total:  # pad a shorter sweep with the code nearest 0 V
        zero = (0.0 - p_lo) / (p_hi - p_lo) * (d_hi - d_lo) + d_lo
        fill = int(min(max(round(zero), d_lo), d_hi))
        digital = np.concatenate([digital, np.full(n_total - digital.size, fill, np.int16)])
    return edfio.EdfSignal.from_digital(
        digital, rate, label=label, physical_dimension=unit, physical_range=(p_lo, p_hi),
        digital_range=(d_lo, d_hi),
        transducer_type=_ascii(f"step {trace.step_id}; {trace.role} sweep; "
                               f"{trace.current_mA:g} mA {trace.pulse_width_ms:g} ms", 80))


def _unit(full_scale_volts: float) -> tuple[float, str]:
    return (1e3, "mV") if full_scale_volts >= 1e-3 else (1e6, "uV")


def _digitise(trace: StoredTrace) -> tuple[np.ndarray, tuple[int, int], tuple[float, float],
                                           str]:
    """EDF digital values, digital range, physical range and unit for one sweep."""
    codes = trace.codes
    if codes.dtype.kind in "iu" and codes.dtype.itemsize <= 2:
        info = np.iinfo(codes.dtype)
        shift = -32768 if codes.dtype == np.uint16 else 0
        digital = (codes.astype(np.int32) + shift).astype(np.int16)
        lo, hi = info.min * trace.scale + trace.offset, info.max * trace.scale + trace.offset
        factor, unit = _unit(max(abs(lo), abs(hi)))
        return digital, (int(info.min) + shift, int(info.max) + shift), \
            (lo * factor, hi * factor), unit
    volts = trace.volts()
    finite = volts[np.isfinite(volts)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    factor, unit = _unit(max(abs(lo), abs(hi)))
    # Whole numbers of the unit: the 8-character header fields hold them exactly, so the
    # reader's scaling is the one the samples were quantised with.
    p_lo, p_hi = math.floor(lo * factor), math.ceil(hi * factor)
    if p_hi <= p_lo:
        p_hi = p_lo + 1
    scaled = np.nan_to_num(volts * factor, nan=float(p_lo))
    steps = np.round((scaled - p_lo) / (p_hi - p_lo) * (EDF_MAX - EDF_MIN))
    return (steps + EDF_MIN).astype(np.int16), (EDF_MIN, EDF_MAX), (p_lo, p_hi), unit


def _rate(rate: float) -> float:
    """1/dt arithmetic leaves 99999.99999999999 Hz; EDF stores whole samples per record."""
    nearest = round(rate)
    return float(nearest) if abs(rate - nearest) <= 1e-9 * rate else rate


def _record_duration(seconds: float) -> float:
    for digits in range(1, 8):
        rounded = round(seconds, digits)
        if math.isclose(rounded, seconds, rel_tol=1e-9) and len(f"{rounded:g}") <= 8:
            return rounded
    raise ExportError(f"a sweep of {seconds!r} s does not fit an EDF data record duration")


def _start(started_at: str) -> dt.datetime:
    start = dt.datetime.fromisoformat(started_at)
    return start.astimezone(dt.UTC) if start.tzinfo else start


def _ascii(text: str, limit: int) -> str:
    """EDF headers and annotations in this file are printable ASCII."""
    return re.sub(r"[^\x20-\x7e]", "?", text)[:limit]


def _field(text: str) -> str:
    """An EDF+ identification subfield: spaces as '_' (readers turn them back), others
    outside printable ASCII as '?', 'X' when empty."""
    value = _ascii(text, 40).replace(" ", "_")
    return value or "X"
