"""The Rigol DS1000Z driver against its simulated scope, and against the InfiniiVision path."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from instruments.bench import Bench, SweepSettings
from instruments.bench_config import BenchProfile, load_bench_config
from instruments.clock import FastClock
from instruments.errors import UnsupportedInstrument
from instruments.scope_ds1000z import RigolDS1000ZScope
from instruments.scope_infiniivision import Acquisition
from instruments.sim import SimBench
from instruments.transport import Transport

# 24 ms (12 divisions of 2 ms, a DS1000Z timebase step) in 12 000 points (its smallest
# memory depth), asked of both scopes so that their samples fall at the same times.
MOTOR = SweepSettings(window_ms=24, pretrigger_ms=2, sensitivity_mV_per_div=5, points=12_000)


@pytest.fixture(scope="module")
def rigol_profile() -> BenchProfile:
    return load_bench_config()["sim-rigol"]


@pytest.fixture
def rsim(rigol_profile: BenchProfile) -> Iterator[SimBench]:
    with SimBench(seed=7, settings=rigol_profile.sim_settings(), scope_model="ds1000z") as b:
        yield b


def _cmap(profile: BenchProfile, scope_model: str) -> tuple[np.ndarray, np.ndarray, float]:
    with SimBench(seed=3, settings=profile.sim_settings(), scope_model=scope_model) as sim:
        bench = Bench.connect(profile, sim.resources, FastClock(), sim_seed=3)
        try:
            bench.connect_subject("normal-adult")
            bench.place_electrodes("median", "wrist", "APB")
            sweep = bench.stimulate_and_record(40.0, 0.2, MOTOR)
        finally:
            bench.close()
    return sweep.times(), sweep.volts(), sweep.scale


def test_both_scope_drivers_give_the_same_volts_for_the_same_cmap(
        profile: BenchProfile, rigol_profile: BenchProfile) -> None:
    """Same subject, seed and stimulus; InfiniiVision (12-bit, yorigin in volts) and DS1000Z
    (8-bit, yorigin in codes) must agree within the Rigol's quantisation step."""
    t_k, v_k, step_k = _cmap(profile, "infiniivision")
    t_r, v_r, step_r = _cmap(rigol_profile, "ds1000z")
    assert step_r == pytest.approx(5e-3 / 25)  # 5 mV/div at the electrodes, 25 codes/div
    assert step_k < step_r / 10
    np.testing.assert_allclose(t_r, t_k, rtol=0, atol=1e-9)  # preambles carry 9 digits
    # Away from the two edges of the 0.2 ms stimulus artefact, where a sample falling on the
    # edge lands either side of it within the preambles' rounding of the time origin.
    away = (np.abs(t_k) > 1e-6) & (np.abs(t_k - 0.2e-3) > 1e-6)
    lsb_12bit = 16 * step_k  # HRES codes are 12 bits sent as WORD
    assert np.max(np.abs(v_r - v_k)[away]) <= step_r / 2 + lsb_12bit
    assert v_k.min() < -8e-3  # a real CMAP of ~9 mV, negative first, was compared


def test_preamble_scaling_with_offset_and_probe(rsim: SimBench) -> None:
    """Volts = (code − yorigin − yreference) × yincrement, with a channel offset (yorigin ≠ 0)."""
    known = lambda ch, t: 3.0 * np.sin(2 * np.pi * 200.0 * t)  # noqa: E731 - volts at the input
    rsim.scope.source = known
    t = Transport(rsim.resources["scope"], "scope")
    try:
        scope = RigolDS1000ZScope(t)
        acq = Acquisition(1, volts_per_div=1.0, offset_v=0.8, window_s=0.012,
                          pretrigger_s=0.002, points=12_000, trigger_level_v=1.0)
        scope.configure(acq)
        scope.arm()
        rsim.generator.handle_message("SOUR1:FUNC PULS;BURS:STAT ON;:TRIG1:SOUR BUS;*TRG")
        scope.wait_triggered(1.0)
        codes, pre = scope.read_waveform()
    finally:
        t.close()
    assert pre.y_origin == 20  # 0.8 V at 0.04 V per code
    assert pre.y_reference == 127 and codes.dtype == np.uint8
    volts = (codes - pre.y_origin - pre.y_reference) * pre.y_increment
    times = pre.x_origin + np.arange(pre.points) * pre.x_increment
    assert np.max(np.abs(volts - known(1, times))) <= pre.y_increment / 2 + 1e-9
    assert times[0] == pytest.approx(-0.002)


def test_long_memory_is_read_in_chunks(rsim: SimBench, rigol_profile: BenchProfile) -> None:
    """10 s of needle EMG at 100 kHz: 1 s/div (12 s on screen) in 1.2 M points, read in
    five :WAV:STAR/:WAV:STOP pieces."""
    bench = Bench.connect(rigol_profile, rsim.resources, FastClock(), sim_seed=7)
    try:
        bench.connect_subject("normal-adult")
        bench.place_needle("deltoid")
        sweep = bench.record_continuous(10_000, 100_000, 0.1)
    finally:
        bench.close()
    assert sweep.codes.size == 1_200_000 and sweep.sample_rate == pytest.approx(100_000)
    starts = [m for m in rsim.received("scope") if m.startswith(":WAV:STAR")]
    assert starts == [f":WAV:STAR {s}" for s in (1, 250_001, 500_001, 750_001, 1_000_001)]
    assert np.ptp(sweep.volts()) > 20e-6  # a signal, not a flat line


def test_oversized_read_is_refused_with_a_scpi_error(rsim: SimBench) -> None:
    for message in (":TIM:MAIN:SCAL 0.001", ":ACQ:MDEP 1200000", ":SING", ":TFOR", ":WAV:MODE RAW",
                    ":WAV:STAR 1", ":WAV:STOP 300000"):
        rsim.scope.handle_message(message)
    assert rsim.scope.handle_message(":WAV:DATA?") is None  # no reply: the client times out
    assert rsim.scope.next_error().startswith("-222,")


def test_trains_refused_on_the_rigol_before_any_stimulus(
        rsim: SimBench, rigol_profile: BenchProfile) -> None:
    bench = Bench.connect(rigol_profile, rsim.resources, FastClock(), sim_seed=7)
    try:
        bench.connect_subject("myasthenia-gravis")
        bench.place_electrodes("median", "wrist", "APB")
        with pytest.raises(UnsupportedInstrument, match="no segmented memory"):
            bench.stimulate_train(40.0, 0.2, 3.0, 10, SweepSettings(20, 2, 5))
        assert not any(m.startswith("*TRG") for m in rsim.received("generator"))
        assert rsim.generator.ch[1].output is False
    finally:
        bench.close()


def test_driver_refuses_other_scopes(sim: SimBench) -> None:
    t = Transport(sim.resources["scope"], "scope")
    try:
        with pytest.raises(UnsupportedInstrument, match="not a Rigol DS1000Z"):
            RigolDS1000ZScope(t)
    finally:
        t.close()


def test_word_format_carries_the_byte_codes(rsim: SimBench) -> None:
    """:WAV:FORM WORD: the same 8-bit codes, two bytes each, upper byte zero."""
    scope = rsim.scope
    for message in (":TIM:MAIN:SCAL 0.001", ":SING", ":TFOR", ":WAV:MODE RAW",
                    ":WAV:STAR 1", ":WAV:STOP 12000"):
        scope.handle_message(message)
    by_byte = scope.handle_message(":WAV:FORM BYTE;:WAV:DATA?")
    by_word = scope.handle_message(":WAV:FORM WORD;:WAV:DATA?")
    assert by_byte is not None and by_word is not None
    assert by_byte[:11] == b"#9000012000" and by_word[:11] == b"#9000024000"
    words = np.frombuffer(by_word[11:], dtype="<u2")
    np.testing.assert_array_equal(words, np.frombuffer(by_byte[11:], dtype=np.uint8))
    assert scope.handle_message(":WAV:PRE?").startswith(b"1,2,12000,1,")


def test_driver_reads_word_format_in_smaller_chunks(rsim: SimBench) -> None:
    """WORD: 125 000 points per read, same codes as BYTE (low byte; high byte zero)."""
    acq = Acquisition(1, volts_per_div=0.5, offset_v=0.0, window_s=1.0, pretrigger_s=0.0,
                      points=300_000, trigger_level_v=1.0, free_running=True)
    codes = {}
    for fmt in ("BYTE", "WORD"):
        t = Transport(rsim.resources["scope"], "scope")
        try:
            scope = RigolDS1000ZScope(t, data_format=fmt)
            scope.configure(acq)
            if fmt == "BYTE":
                scope.digitize()
            codes[fmt], _ = scope.read_waveform()
        finally:
            t.close()
    np.testing.assert_array_equal(codes["WORD"], codes["BYTE"])
    assert codes["BYTE"].size == 1_200_000
    starts = [m for m in rsim.received("scope") if m.startswith(":WAV:STAR")]
    assert len(starts) == 5 + 10  # BYTE in 250 000s, WORD in 125 000s
