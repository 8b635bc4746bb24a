"""Tolerance data, bench_check protocol validation and the measuring functions, without a
bench: bad files fail at their line, and each measure recovers a known signal."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine.protocol import ProtocolError, load_protocol
from engine.validation import (
    ToleranceError,
    load_tolerances,
    probe_pulse,
    sine_amplitude,
    square_wave_amplitude,
)
from instruments.sim.fixture import MISCALIBRATIONS, BenchFixture, fixture_commands
from instruments.sim.scpi_syntax import ScpiError
from instruments.sim.signal_chain import SimSettings


def test_shipped_tolerances_cover_every_measured_quantity_with_a_basis() -> None:
    tolerances = load_tolerances()
    assert set(tolerances.entries) == {"pulse_current", "pulse_width", "amplifier_gain",
                                       "onset_latency", "noise_rms", "mains_50hz",
                                       "mains_60hz"}
    for tol in tolerances.entries.values():
        assert len(tol.citation) > 40, tol.id  # the reason for the number is written down
    assert tolerances.entries["pulse_current"].limits(10.0) == pytest.approx((9.5, 10.5))
    assert tolerances.entries["onset_latency"].limits(3.0) == pytest.approx((2.95, 3.05))
    assert tolerances.entries["noise_rms"].limits(None) == (None, 3.0)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_tolerance_without_a_limit_is_refused_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "tol.yaml", """\
        schema: 1
        id: lab
        version: "1"
        sources:
          lab: {citation: "Lab's own.", grade: lab}
        tolerances:
          - {id: a, quantity: noise_rms, unit: µV, upper: 3, source: lab}
          - {id: b, quantity: pulse_width, unit: ms, source: lab}
        """)
    with pytest.raises(ToleranceError) as caught:
        load_tolerances(path)
    assert f"{path}:8:" in str(caught.value)
    assert "exactly one of relative_pct, absolute or upper" in str(caught.value)


def test_a_tolerance_naming_an_unknown_source_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "tol.yaml", """\
        schema: 1
        id: lab
        version: "1"
        sources:
          lab: {citation: "Lab's own.", grade: lab}
        tolerances:
          - {id: a, quantity: noise_rms, unit: µV, upper: 3, source: datasheet}
        """)
    with pytest.raises(ToleranceError, match="unknown source 'datasheet'"):
        load_tolerances(path)


BENCH_PROTOCOL = textwrap.dedent("""\
    schema: 1
    id: bench-x
    title: x
    study: {{nerve: none, kind: bench}}
    steps:
      main:
        - id: c
          kind: bench_check
          title: c
    {body}
    """)


@pytest.mark.parametrize(("body", "line", "message"), [
    ("      check: impedance", 10, "must be one of stimulator_load"),
    ("      check: latency\n      current_mA: 10", 7, "missing required field 'fixture'"),
    ("      check: latency\n      current_mA: 10\n      fixture: {delay_ms: 3}", 12,
     "missing required field 'amplitude_uV'"),
    ("      check: stimulator_load\n      fixture: {load_ohm: 1000}", 7,
     "missing required field 'current_mA'"),
    ("      check: mains\n      sample_rate_hz: 10", 11, "the minimum is 1000 Hz"),
])
def test_bench_check_steps_are_validated_at_their_line(tmp_path: Path, body: str, line: int,
                                                       message: str) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text(BENCH_PROTOCOL.format(body=body), encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    assert f"{path}:{line}:" in str(caught.value)
    assert message in str(caught.value)


def test_probe_pulse_recovers_level_and_width_between_samples() -> None:
    fs, t0 = 2e6, -0.2e-3
    t = t0 + np.arange(2000) / fs
    rng = np.random.default_rng(3)
    volts = np.where((t >= 0.1234e-3) & (t < 0.4234e-3), 12.0, 0.0) + rng.normal(0, 2e-3, t.size)
    level, width = probe_pulse(volts, fs, t0)
    assert level == pytest.approx(12.0, abs=0.01)
    assert width == pytest.approx(0.3e-3, abs=1.0 / fs)
    cut = np.where(t < 0.9e-3, 0.0, 5.0)  # a pulse still high at the window's end
    assert np.isnan(probe_pulse(cut, fs, t0)[1])
    assert np.isnan(probe_pulse(np.zeros(100), fs, t0)[0])


def test_sine_and_square_wave_amplitudes() -> None:
    fs = 20_000.0
    t = np.arange(4000) / fs
    rng = np.random.default_rng(5)
    hum = 8e-6 * np.sin(2 * np.pi * 50 * t + 1.0) + rng.normal(0, 4e-6, t.size)
    assert sine_amplitude(hum, fs, 50.0) == pytest.approx(8e-6, abs=0.3e-6)
    assert sine_amplitude(hum, fs, 60.0) < 0.5e-6
    square = np.where((t * 100) % 1.0 < 0.5, 0.5e-3, -0.5e-3) + rng.normal(0, 2e-6, t.size)
    assert square_wave_amplitude(square) == pytest.approx(1e-3, rel=0.002)


def test_fixture_commands_refuse_unknown_modes_and_miscalibrations() -> None:
    fixture = BenchFixture()
    commands = {c.pattern: c for c in fixture_commands(fixture)}
    connect, miscal = commands["FIXTure:CONNect"], commands["FIXTure:MISCal"]
    with pytest.raises(ScpiError):
        connect.set(['"impedance"'], [])
    with pytest.raises(ScpiError):
        connect.set(['"load"'], [])  # the load's resistance is missing
    with pytest.raises(ScpiError):
        miscal.set(['"gain"', "2"], [])
    connect.set(['"load"', "1000"], [])
    assert fixture.mode == "load" and fixture.params == {"ohm": 1000.0}
    miscal.set(['"current_scale"', "1.5"], [])
    t = np.linspace(-1e-4, 5e-4, 601)
    probe = fixture.scope_volts(2, t, 10.0, 0.2, SimSettings(), np.random.default_rng(0))
    assert np.median(probe[(t > 0.01e-3) & (t < 0.19e-3)]) == pytest.approx(15.0, abs=0.01)
    commands["FIXTure:MISCal:CLEar"].set([], [])
    assert fixture.miscal == {k: v[0] for k, v in MISCALIBRATIONS.items()}
    commands["FIXTure:DISConnect"].set([], [])
    assert not fixture.connected


def test_bench_checks_only_in_bench_protocols_and_no_subject_steps_there(tmp_path: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(BENCH_PROTOCOL.replace("kind: bench}", "kind: motor}").format(
        body="      check: noise_floor"), encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"study.yaml:7:.*belongs in a bench validation"):
        load_protocol(study)
    bench = tmp_path / "bench.yaml"
    bench.write_text(textwrap.dedent("""\
        schema: 1
        id: bench-x
        title: x
        study: {nerve: none, kind: bench}
        steps:
          main:
            - {id: checklist, kind: safety_checklist, title: checklist}
            - id: pulse
              kind: stimulate
              title: a pulse
              nerve: median
              site: wrist
              recording: APB
              fixed_mA: 10
              sweep: {window_ms: 20}
        """), encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"bench.yaml:8:.*touches a subject"):
        load_protocol(bench)


def test_dry_run_names_each_fixture_and_capture() -> None:
    from engine.dryrun import describe
    from engine.paths import protocols_dir

    lines = describe(load_protocol(protocols_dir() / "bench" / "bench_check.yaml"))
    text = "\n".join(lines)
    assert text.count("[bench_check]") == 7
    assert "stimulate at 10 mA, 0.2 ms" in text and "probe on scope channel 2" in text
    assert "delay_ms 3, amplitude_uV 5000" in text
    assert "record 200 ms free-running at 20000 Hz" in text
