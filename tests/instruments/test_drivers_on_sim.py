"""Drivers against the simulated bench over real sockets."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from instruments.bench import Bench, SweepSettings
from instruments.bench_config import BenchProfile
from instruments.clock import FastClock
from instruments.errors import (
    InstrumentConnectionError,
    InstrumentError,
    InstrumentProtocolError,
    InstrumentTimeout,
    StimulusLimitError,
    SubjectError,
    UnsupportedInstrument,
)
from instruments.generator_33500 import Generator33500
from instruments.scope_infiniivision import Acquisition, InfiniiVisionScope
from instruments.sim import SimBench
from instruments.transport import Transport

SWEEP = SweepSettings(window_ms=20, pretrigger_ms=2, sensitivity_mV_per_div=5)


def test_identities(bench: Bench) -> None:
    ids = bench.identities()
    assert ids["generator"].startswith("Agilent Technologies,33522B,")
    assert ids["scope"].startswith("KEYSIGHT TECHNOLOGIES,DSO-X 3024T,")
    assert ids["subject"].startswith("edxbench,SUBJECT-LINK,")


def test_connect_forces_output_off_and_high_z_load(sim: SimBench, bench: Bench) -> None:
    log = sim.received("generator")
    assert log[1:3] == ["OUTP1 OFF", "OUTP1?"]  # first thing after *IDN?, confirmed
    assert sim.generator.ch[1].output is False
    assert sim.generator.ch[1].load_factor() == 1.0


def test_waveform_round_trip_scaling_and_clipping(sim: SimBench, profile: BenchProfile) -> None:
    """A known input comes back through preamble scaling within one ADC step."""
    known = lambda ch, t: 12.0 * np.sin(2 * np.pi * 100.0 * t)  # noqa: E731 - volts at the scope
    sim.scope.source = known
    t = Transport(sim.resources["scope"], "scope")
    try:
        scope = InfiniiVisionScope(t)
        acq = Acquisition(1, volts_per_div=2.0, offset_v=1.0, window_s=0.02,
                          pretrigger_s=0.002, points=2000, trigger_level_v=1.0)
        scope.configure(acq)
        scope.arm()
        sim.generator.handle_message("SOUR1:FUNC PULS;BURS:STAT ON;:TRIG1:SOUR BUS;*TRG")
        scope.wait_triggered(1.0)
        codes, pre = scope.read_waveform()
    finally:
        t.close()
    volts = (codes - pre.y_reference) * pre.y_increment + pre.y_origin
    times = pre.x_origin + np.arange(pre.points) * pre.x_increment
    expected = np.clip(known(1, times), 1.0 - 8.0, 1.0 + 8.0 - pre.y_increment * 16)
    lsb = 16.0 / 2**12  # 12-bit high-resolution acquisition over 8 divisions
    assert np.max(np.abs(volts - expected)) <= lsb
    assert volts.min() == pytest.approx(-7.0, abs=lsb) and volts.max() < 9.0  # clipped
    assert times[0] == pytest.approx(-0.002) and pre.x_increment == pytest.approx(1e-5)


@pytest.mark.parametrize(
    ("current", "width", "reason"),
    [
        (150.0, 0.2, "exceeds 100 mA"),
        (20.0, 2.0, "pulse width"),
        (-5.0, 0.2, "must be positive"),
    ],
)
def test_request_beyond_limits_sends_nothing(
    sim: SimBench, bench: Bench, current: float, width: float, reason: str
) -> None:
    before = {role: len(sim.received(role)) for role in ("generator", "scope")}
    with pytest.raises(StimulusLimitError, match=reason) as info:
        bench.stimulate_and_record(current, width, SWEEP)
    assert "stimulator (TCPIP0::127.0.0.1::" in str(info.value)
    assert {role: len(sim.received(role)) for role in before} == before
    assert sim.stimulator.delivered == []


def test_energy_limit(sim: SimBench, profile: BenchProfile, clock: FastClock) -> None:
    from dataclasses import replace

    tight = replace(profile, limits=replace(profile.limits, max_energy_mJ=2.0))
    b = Bench.connect(tight, sim.resources, clock)
    try:
        before = len(sim.received("generator"))
        with pytest.raises(StimulusLimitError, match=r"energy 2\.5 mJ"):
            b.stimulate_and_record(50.0, 1.0, SWEEP)  # 0.05² × 1000 × 0.001 = 2.5 mJ
        assert len(sim.received("generator")) == before
    finally:
        b.close()


def test_output_off_after_stimulus(sim: SimBench, bench: Bench) -> None:
    bench.connect_subject("normal-adult")
    bench.place_electrodes("median", "wrist", "APB")
    sweep = bench.stimulate_and_record(30.0, 0.2, SWEEP)
    assert sweep.codes.dtype == np.int16 and sweep.codes.size == 2000
    assert sim.generator.ch[1].output is False
    log = sim.received("generator")
    assert log[-5:] == ["OUTP1 ON", "*TRG", "*OPC?", "OUTP1 OFF", "OUTP1?"]
    assert sim.stimulator.delivered[-1].current_mA == pytest.approx(30.0)
    assert sim.stimulator.delivered[-1].pulse_width_ms == pytest.approx(0.2)


def test_output_off_after_an_error_and_read_back_guards_enable(
    sim: SimBench, bench: Bench
) -> None:
    sim.generator.ch[1].load_ohm = 50.0  # someone pressed the front panel: output would double
    with pytest.raises(InstrumentProtocolError, match="load 50 Ω"):
        bench.stimulate_and_record(30.0, 0.2, SWEEP)
    log = sim.received("generator")
    assert "OUTP1 ON" not in log and log[-2:] == ["OUTP1 OFF", "OUTP1?"]
    assert sim.stimulator.delivered == []


def test_output_off_when_the_scope_fails(
    sim: SimBench, bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise InstrumentTimeout("scope", bench.scope.resource, "no trigger within 1 ms")

    monkeypatch.setattr(bench.scope, "wait_triggered", broken)
    with pytest.raises(InstrumentTimeout):
        bench.stimulate_and_record(30.0, 0.2, SWEEP)
    assert sim.generator.ch[1].output is False
    assert sim.received("generator")[-2:] == ["OUTP1 OFF", "OUTP1?"]


def test_rate_limit_uses_the_injected_clock(sim: SimBench, bench: Bench, clock: FastClock) -> None:
    bench.stimulate_and_record(10.0, 0.2, SWEEP)
    sent = len(sim.received("generator"))
    with pytest.raises(StimulusLimitError, match="50 Hz"):
        bench.stimulate_and_record(10.0, 0.2, SWEEP)
    assert len(sim.received("generator")) == sent
    clock.sleep(1 / 50)
    bench.stimulate_and_record(10.0, 0.2, SWEEP)
    assert len(sim.stimulator.delivered) == 2


def test_unreachable_port_is_a_clean_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    resource = f"TCPIP0::127.0.0.1::{port}::SOCKET"
    start = time.monotonic()
    with pytest.raises(InstrumentConnectionError) as info:
        Transport(resource, "scope", open_timeout_ms=500)
    assert str(info.value).startswith(f"scope ({resource}): cannot open")
    assert time.monotonic() - start < 3


def test_wrong_idn_is_unsupported(sim: SimBench) -> None:
    t = Transport(sim.resources["scope"], "generator")
    try:
        with pytest.raises(UnsupportedInstrument, match=r"DSO-X 3024T.*not a Keysight 33500B"):
            Generator33500(t)
    finally:
        t.close()


def test_no_reply_is_a_timeout_naming_role_resource_and_query(sim: SimBench) -> None:
    t = Transport(sim.resources["scope"], "scope", timeout_ms=200)
    try:
        with pytest.raises(InstrumentTimeout) as info:
            t.query(":WAV:DATA?")  # nothing captured: no reply
        assert str(info.value) == (
            f"scope ({sim.resources['scope']}): no reply to :WAV:DATA? within 200 ms"
        )
    finally:
        t.close()


def test_unknown_subject_lists_the_available_ones(bench: Bench) -> None:
    with pytest.raises(SubjectError, match=r"unknown subject 'nobody'; available: .*normal-adult"):
        bench.connect_subject("nobody")


def test_bad_site_and_distance(bench: Bench) -> None:
    bench.connect_subject("normal-adult")
    with pytest.raises(SubjectError, match="axilla"):
        bench.place_electrodes("median", "axilla", "APB")
    with pytest.raises(SubjectError, match="no distance"):
        bench.measure_distance("median", "wrist", "axilla")
    assert bench.measure_distance("median", "APB", "elbow") == 300.0


def test_snapshot_is_json(bench: Bench) -> None:
    import json

    bench.connect_subject("normal-adult")
    bench.place_electrodes("median", "wrist", "APB")
    bench.stimulate_and_record(20.0, 0.2, SWEEP)
    snap = json.loads(json.dumps(bench.settings_snapshot()))
    assert snap["stimulator"]["last_pulse"]["load_ohm"] == "INF"
    assert snap["scope"]["volts_per_div"] == 5.0 and snap["sim_seed"] == 7


def test_errors_share_a_base() -> None:
    assert issubclass(StimulusLimitError, InstrumentError)
    assert issubclass(SubjectError, InstrumentError)
