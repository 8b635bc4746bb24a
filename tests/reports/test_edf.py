"""EDF+ exports read back with pyEDFlib (EDFlib, C): an implementation independent of the
edfio writer. Samples must match to the EDF digital resolution, rates exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib
import pytest

from edxbench.reports import export_run
from edxbench.reports.edf import render_edf
from edxbench.reports.model import RunData, load_run
from storage.database import open_database
from storage.queries import StoredTrace
from tests.reports.conftest import StoredRun

UNIT_FACTOR = {"mV": 1e3, "uV": 1e6}


def read_back(path: Path) -> tuple[list[dict], list[tuple[float, str]], dict]:
    with pyedflib.EdfReader(str(path)) as reader:
        signals = []
        for i in range(reader.signals_in_file):
            header = reader.getSignalHeader(i)
            signals.append({
                "label": reader.getLabel(i).strip(), "rate": reader.getSampleFrequency(i),
                "unit": reader.getPhysicalDimension(i).strip(), "data": reader.readSignal(i),
                "resolution": (header["physical_max"] - header["physical_min"])
                / (header["digital_max"] - header["digital_min"]),
            })
        onsets, _, texts = reader.readAnnotations()
        info = {"patient": reader.getPatientCode(), "duration": reader.getFileDuration(),
                "edfplus": reader.filetype}
    return signals, list(zip(onsets.tolist(), texts.tolist(), strict=True)), info


def assert_same_samples(signal: dict, trace: StoredTrace) -> None:
    volts = trace.volts()
    read = signal["data"][:volts.size] / UNIT_FACTOR[signal["unit"]]
    step = signal["resolution"] / UNIT_FACTOR[signal["unit"]]
    assert np.max(np.abs(read - volts)) <= step * 0.51 + 1e-15, signal["label"]


def test_real_run_reads_back_with_pyedflib(normal_run: StoredRun, tmp_path: Path) -> None:
    db = open_database(normal_run.db_path)
    path = export_run(db, normal_run.run_id, "edf", tmp_path / "run.edf")
    data = load_run(db, normal_run.run_id)
    signals, annotations, info = read_back(path)
    assert info["edfplus"] == pyedflib.FILETYPE_EDFPLUS and info["patient"] == "normal-adult"
    assert len(signals) == len(data.traces) >= 4  # search and final sweeps of two sites
    # the run's interpretation rides along as an annotation at the start
    assert (0.0, "Interpretation: none; nature none; requires confirmation by the reader") \
        in annotations
    for signal, trace in zip(signals, data.traces, strict=True):
        assert signal["rate"] == pytest.approx(trace.sample_rate, rel=1e-12)
        assert signal["unit"] == "mV" and trace.site in signal["label"]
        assert signal["label"].startswith("F" if trace.role == "final" else "S")
        assert signal["data"].size == trace.codes.size
        assert_same_samples(signal, trace)
        # 16-bit codes go in unchanged, so one EDF step is one digitiser code.
        assert signal["resolution"] / 1e3 == pytest.approx(trace.scale, rel=1e-6)
        stimulus = [(t, text) for t, text in annotations if f"[{signal['label']}]" in text]
        assert len(stimulus) == 1
        onset, text = stimulus[0]
        assert onset == pytest.approx(-trace.t0, abs=1e-6)
        assert text.startswith(f"Stimulus {trace.site} {trace.current_mA:g} mA")
    assert info["duration"] == pytest.approx(0.02)


def synthetic(traces: list[StoredTrace]) -> RunData:
    run = {"id": "0123456789abcdef", "started_at": "2026-01-02T03:04:05.678+00:00",
           "subject_id": "S 1 ü", "operator": "", "protocol_id": "bench-check",
           "measurements": [], "steps": []}
    return RunData(run=run, traces=traces, notices=[])


def trace(trace_id: int, codes: np.ndarray, rate: float, **kw: object) -> StoredTrace:
    fields: dict = {"step_id": "s", "role": "final", "site": "wrist", "current_mA": 10.0,
                    "pulse_width_ms": 0.1, "t0": -0.001, "scale": 1e-6, "offset": 0.0}
    fields.update(kw)
    return StoredTrace(id=trace_id, sample_rate=rate, codes=codes, **fields)


def test_mixed_rates_lengths_and_dtypes(tmp_path: Path) -> None:
    """Float codes are quantised, 8-bit and unsigned 16-bit kept; short sweeps padded."""
    rng = np.random.default_rng(7)
    t = np.arange(500) / 50_000
    sensory = (-20e-6 * np.exp(-((t - 0.003) / 0.0004) ** 2)
               + rng.normal(0, 0.3e-6, t.size))  # a 20 µV SNAP in volts
    traces = [
        trace(1, sensory.astype(np.float32), 50_000.0, scale=1.0, site="digit II"),
        trace(2, rng.integers(-128, 127, 1000, dtype=np.int8), 100_000.0, scale=4e-5),
        trace(3, rng.integers(0, 65535, 100, dtype=np.uint16), 10_000.0, scale=2e-7,
              offset=-6.5536e-3, role="search"),
    ]
    path = tmp_path / "mixed.edf"
    path.write_bytes(render_edf(synthetic(traces)))
    signals, annotations, info = read_back(path)
    assert info["patient"] == "S 1 ?"  # EDF+ writes spaces as '_'; readers restore them
    assert [s["unit"] for s in signals] == ["uV", "mV", "mV"]
    assert [s["rate"] for s in signals] == [50_000.0, 100_000.0, 10_000.0]
    for signal, stored in zip(signals, traces, strict=True):
        assert_same_samples(signal, stored)
    assert signals[2]["data"].size == 100  # 10 ms at 10 kHz: the record is 10 ms long
    assert info["duration"] == pytest.approx(0.01)
    assert len([a for a in annotations if a[1].startswith("Stimulus")]) == 3
    assert not any(a[1].startswith("End of sweep") for a in annotations)


def test_shorter_sweep_is_padded_and_its_end_annotated(tmp_path: Path) -> None:
    codes = np.arange(-100, 100, dtype=np.int16)
    traces = [trace(1, codes, 10_000.0), trace(2, codes[:50], 10_000.0, role="search")]
    path = tmp_path / "pad.edf"
    path.write_bytes(render_edf(synthetic(traces)))
    signals, annotations, _ = read_back(path)
    assert signals[1]["data"].size == 200
    assert_same_samples(signals[1], traces[1])
    assert np.allclose(signals[1]["data"][50:], 0.0, atol=1e-9)
    assert (pytest.approx(0.005), "End of sweep [S02 wrist]") in annotations
