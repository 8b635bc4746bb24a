"""rustcore on real recordings made by others (tests/data, licences in its README).

PhysioNet emgdb (needle EMG, tibialis anterior): MUAP statistics of the healthy,
myopathic and neuropathic records must differ in the expected directions. The
RecruitmentCurveFitting sweeps: M-wave and H-reflex amplitudes per sweep and the
supramaximal plateau of the M-wave recruitment curve."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss

import rustcore

DATA = Path(__file__).resolve().parents[1] / "data"
EMG_FS = 4000.0


def read_wfdb16(record: str) -> np.ndarray:
    """Volts from a one-channel WFDB format-16 record (gain from the header)."""
    header = (DATA / "physionet_emgdb" / f"{record}.hea").read_text().splitlines()
    fields = header[1].split()
    assert fields[1] == "16"
    gain_per_mv = float(fields[2].split("/")[0])
    adu = np.fromfile(DATA / "physionet_emgdb" / f"{record}.dat", "<i2")
    assert adu.size == int(header[0].split()[3])
    return adu.astype(np.float64) / gain_per_mv * 1e-3


@cache
def decomposed(record: str) -> dict:
    x = read_wfdb16(f"emg_{record}")
    hp = rustcore.sos_filter(
        x, ss.butter(2, 20, "highpass", fs=EMG_FS, output="sos"), zero_phase=True
    )
    band = ss.butter(2, [100, 1500], "bandpass", fs=EMG_FS, output="sos")
    det = rustcore.sos_filter(x, band, zero_phase=True)
    d = rustcore.decompose_emg(hp, EMG_FS, detect=det)
    d["seconds"] = x.size / EMG_FS
    return d


def weighted(d: dict, key: str) -> float:
    return float(np.average(np.asarray(d[key], float), weights=d["count"]))


def test_records_decompose_into_motor_units() -> None:
    for record in ("healthy", "myopathy", "neuropathy"):
        d = decomposed(record)
        assert d["n_units"] >= 5, record
        assert (d["event_unit"] >= 0).mean() > 0.5, record
        assert np.all(np.isfinite(d["amplitude"])) and np.all(d["duration"] >= 0)
        # Known weakness: a template whose edges are busy (3 × edge SD above its peak)
        # gets duration 0; most must not.
        assert (d["duration"] > 0).mean() >= 0.8, record


def test_neuropathic_units_are_larger_longer_and_fewer() -> None:
    healthy, neuro = decomposed("healthy"), decomposed("neuropathy")
    assert np.median(neuro["amplitude"]) > 3 * np.median(healthy["amplitude"])
    assert weighted(neuro, "duration") > weighted(healthy, "duration")
    # Fewer units recruited per unit time of the same gentle contraction protocol.
    assert neuro["n_units"] / neuro["seconds"] < healthy["n_units"] / healthy["seconds"]


def test_myopathic_units_are_shorter_and_more_polyphasic() -> None:
    healthy, myo = decomposed("healthy"), decomposed("myopathy")
    assert np.median(myo["duration"]) < np.median(healthy["duration"])
    poly = lambda d: float(np.average(d["phases"] > 4, weights=d["count"]))  # noqa: E731
    assert poly(myo) > poly(healthy) + 0.1
    assert weighted(myo, "turns") > weighted(healthy, "turns")


@pytest.mark.xfail(
    reason="the record does not show it: its detection-band noise floor is ~2x the healthy "
    "record's even in its quietest 0.25 s epochs (10th-percentile robust SD 21.7 vs 11.6 uV), "
    "and its potentials are larger with every threshold tried: median unit amplitude "
    "450 vs 327 uV at 5 SD of each record, 357 vs 327 uV at one absolute threshold "
    "(67 uV), 430 vs 339 uV at 5x each record's quiet-epoch SD; median p2p of all "
    "detected events 470 vs 247 uV. Duration and polyphasia do separate (tested above). "
    "The patient had long-standing, treated polymyositis, where MUAPs need not be small",
    strict=True,
)
def test_myopathic_units_are_smaller() -> None:
    assert np.median(decomposed("myopathy")["amplitude"]) < np.median(
        decomposed("healthy")["amplitude"]
    )


# --- evoked M-wave / H-reflex sweeps ---------------------------------------------------


def waveforms() -> tuple[np.ndarray, np.ndarray, float]:
    w = np.loadtxt(DATA / "recruitmentcurvefitting" / "example-waveforms.csv", delimiter=",")
    stim, t_ms, sweeps = w[0, 1:], w[1:, 0], np.ascontiguousarray(w[1:, 1:].T)
    fs = 1000.0 / (t_ms[1] - t_ms[0])
    assert fs == pytest.approx(3200.0)
    return stim, sweeps, fs


def test_m_and_h_amplitudes_and_the_m_wave_plateau() -> None:
    stim, sweeps, fs = waveforms()
    t = np.arange(sweeps.shape[1]) / fs
    r = rustcore.h_reflex(
        sweeps,
        fs,
        0.0,
        m_window=(0.0081, 0.0159),
        h_window=(0.0346, 0.0424),
        baseline_end=0.0025,
        k=0.0,
        min_amplitude=0.0,
    )
    m = (t >= 0.0081) & (t < 0.0159)
    h = (t >= 0.0346) & (t < 0.0424)
    np.testing.assert_allclose(r["m_amplitude"], np.ptp(sweeps[:, m], axis=1), rtol=1e-12)
    np.testing.assert_allclose(r["h_amplitude"], np.ptp(sweeps[:, h], axis=1), rtol=1e-12)
    # H rises first and is then suppressed as M grows (collision): H peaks at a lower
    # intensity than M.
    rc_m = rustcore.recruitment_curve(stim, r["m_amplitude"], tolerance=0.1)
    rc_h = rustcore.recruitment_curve(stim, r["h_amplitude"])
    h_peak = rc_h["levels"][np.argmax(rc_h["level_mean"])]
    assert h_peak < rc_m["plateau_start"]
    assert rc_m["plateau_found"]
    assert rc_m["plateau_start"] == 6.0
    assert rc_m["plateau_amplitude"] == pytest.approx(4.14, abs=0.05)


def test_package_m_size_tables_reach_their_plateau() -> None:
    """The package's own M-size tables (other sessions than the waveform file: their
    values do not match the waveforms sweep by sweep) give a plateau where the tables'
    M sizes stop growing."""
    rows = [
        line.split(",")
        for line in (DATA / "recruitmentcurvefitting" / "example-data1.txt")
        .read_text()
        .splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stim = np.array([float(r[2]) for r in rows])
    m_size = np.array([float(r[3]) for r in rows])
    rc = rustcore.recruitment_curve(stim, m_size, tolerance=0.1)
    assert rc["plateau_found"] and rc["plateau_start"] == 4.0
    assert rc["plateau_amplitude"] == pytest.approx(m_size[stim >= 4.0].mean())
