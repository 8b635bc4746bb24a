"""The simulated bench over HiSLIP (IVI-6.1), through PyVISA's pyvisa-py client on real sockets."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import numpy as np
import pytest
from pyvisa_py.protocols import hislip

import rustcore
from instruments.bench import Bench, SweepSettings
from instruments.bench_config import BenchProfile, load_bench_config
from instruments.clock import FastClock
from instruments.errors import InstrumentConnectionError, InstrumentProtocolError, InstrumentTimeout
from instruments.sim import SimBench
from instruments.sim.hislip_server import HEADER, TYPES, read_message
from instruments.transport import Transport

MOTOR = SweepSettings(window_ms=20, pretrigger_ms=2, sensitivity_mV_per_div=5)


@pytest.fixture(scope="module")
def hislip_profile() -> BenchProfile:
    return load_bench_config()["sim-hislip"]


@pytest.fixture
def hsim(hislip_profile: BenchProfile) -> Iterator[SimBench]:
    with SimBench(seed=7, settings=hislip_profile.sim_settings(), protocol="hislip") as bench:
        yield bench


def test_profile_serves_hislip_resources(hislip_profile: BenchProfile, hsim: SimBench) -> None:
    assert hislip_profile.sim_protocol == "hislip"
    for resource in hsim.resources.values():
        assert resource.startswith("TCPIP0::127.0.0.1::hislip0,") and resource.endswith("::INSTR")


def test_median_motor_study_over_hislip(hislip_profile: BenchProfile, hsim: SimBench) -> None:
    """Distal latency, amplitude and forearm velocity of normal-adult (3.6 ms, 9.0 mV,
    57 m/s) recovered over HiSLIP, as over SOCKET."""
    clock = FastClock()
    bench = Bench.connect(hislip_profile, hsim.resources, clock, sim_seed=7)
    try:
        assert bench.identities()["scope"].startswith("KEYSIGHT TECHNOLOGIES,DSO-X 3024T")
        bench.connect_subject("normal-adult")
        onsets = {}
        for site, current in (("wrist", 40.0), ("elbow", 60.0)):
            bench.place_electrodes("median", site, "APB")
            clock.sleep(1.0)
            sweep = bench.stimulate_and_record(current, 0.2, MOTOR)
            m = rustcore.measure_sweep(sweep.volts(), sweep.sample_rate, sweep.t0)
            assert m["acceptable"]
            onsets[site] = m["onset"] * 1e3
            if site == "wrist":
                assert m["neg_amplitude"] * 1e3 == pytest.approx(9.0, rel=0.03)
        assert onsets["wrist"] == pytest.approx(3.6, abs=0.1)
        distance = bench.measure_distance("median", "wrist", "elbow")
        assert distance is not None
        velocity = distance / (onsets["elbow"] - onsets["wrist"])
        assert velocity == pytest.approx(57.0, abs=2.0)
        assert hsim.generator.ch[1].output is False  # off again after every stimulus
    finally:
        bench.close()


def test_control_channel_lock_status_clear_and_small_messages(hsim: SimBench) -> None:
    port = int(hsim.resources["scope"].split(",")[1].split("::")[0])
    a = hislip.Instrument("127.0.0.1", port=port, timeout=2.0)
    b = hislip.Instrument("127.0.0.1", port=port, timeout=2.0)
    try:
        assert a.async_lock_request(1.0) == "success"
        assert b.async_lock_request(0.1) == "failure"  # exclusive while `a` holds it
        assert a.async_lock_info() == 1
        assert a.async_lock_release() == "success"
        assert a.async_lock_release() == "error"  # nothing held any more
        assert b.async_lock_request(0.1) == "success"
        a.async_remote_local_control("enableRemote")
        a.send(b":NOSUCH:THING\n*OPC?\n")
        assert bytes(a.receive(64)) == b"1\n"  # the bad header was processed first
        assert a.async_status_query() & 4  # error queue not empty (IEEE 488.2 STB bit 2)
        a.device_clear()  # clears the message exchange, not the error queue
        assert a.async_status_query() & 4
        a.send(b"SYST:ERR?\n")
        assert bytes(a.receive(256)).startswith(b'-113,"Undefined header')
        assert a.async_status_query() & 4 == 0
        a.max_msg_size = 64  # replies now come as several Data messages and one DataEnd
        a.send(b"*IDN?\n")
        assert bytes(a.receive(4096)).startswith(b"KEYSIGHT TECHNOLOGIES,DSO-X 3024T,")
    finally:
        a.close()
        b.close()


def test_reply_echoes_message_id_and_unknown_types_get_error(hsim: SimBench) -> None:
    port = int(hsim.resources["generator"].split(",")[1].split("::")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sync:
        sync.sendall(struct.pack("!2sBBBB2sQ", b"HS", 0, 0, 1, 0, b"xx", 7) + b"hislip0")
        init = read_message(sync)
        assert init.kind == "InitializeResponse" and init.parameter >> 16 == 0x0100
        sync.sendall(HEADER.pack(b"HS", TYPES["DataEnd"], 0, 0x1234, 6) + b"*IDN?\n")
        reply = read_message(sync)
        assert reply.kind == "DataEnd" and reply.parameter == 0x1234
        assert reply.payload.startswith(b"Agilent Technologies,33522B")
        sync.sendall(HEADER.pack(b"HS", 99, 0, 0, 0))
        error = read_message(sync)
        assert error.kind == "Error" and error.control == 1  # Unrecognized Message Type


@pytest.mark.parametrize(("kind", "error"), [("drop", InstrumentConnectionError),
                                             ("truncate", InstrumentProtocolError)])
def test_broken_block_over_hislip_is_reported_and_recovered(
        hsim: SimBench, kind: str, error: type[Exception]) -> None:
    t = Transport(hsim.resources["scope"], "scope", timeout_ms=300)
    try:
        hsim.scope.source = lambda ch, tt: np.zeros_like(tt)
        t.write(":DIG CHAN1")
        hsim.inject_fault("scope", kind, match=":WAV:DATA")
        with pytest.raises(error, match="scope"):
            t.read_block(":WAV:DATA?")
        assert t.query("*IDN?").startswith("KEYSIGHT")  # the session was reopened
    finally:
        t.close()


def test_hislip_and_socket_deliver_identical_codes(
        profile: BenchProfile, hislip_profile: BenchProfile) -> None:
    """Same seed, same stimulus: the transport changes nothing in the data."""
    runs = []
    for prof, protocol in ((profile, "socket"), (hislip_profile, "hislip")):
        with SimBench(seed=9, settings=prof.sim_settings(), protocol=protocol) as sim:
            bench = Bench.connect(prof, sim.resources, FastClock(), sim_seed=9)
            try:
                bench.connect_subject("normal-adult")
                bench.place_electrodes("median", "wrist", "APB")
                runs.append(bench.stimulate_and_record(40.0, 0.2, MOTOR))
            finally:
                bench.close()
    np.testing.assert_array_equal(runs[0].codes, runs[1].codes)
    assert (runs[0].scale, runs[0].t0) == (runs[1].scale, runs[1].t0)


@pytest.mark.parametrize(("kind", "outcome"), [
    ("restart", InstrumentConnectionError), ("timeout", InstrumentTimeout),
    ("garbage", InstrumentProtocolError), ("idn", "ACME INSTRUMENTS,XYZ-100,0,1.0"),
    ("slow", "Agilent Technologies,33522B,")])
def test_every_reply_fault_acts_over_hislip_and_the_session_recovers(
        hsim: SimBench, kind: str, outcome: type[Exception] | str) -> None:
    t = Transport(hsim.resources["generator"], "generator", timeout_ms=300)
    try:
        hsim.inject_fault("generator", kind, value=50, match="*IDN?")
        if isinstance(outcome, str):
            assert t.query("*IDN?").startswith(outcome)
        else:
            with pytest.raises(outcome, match="generator"):
                t.query("*IDN?")
        assert hsim.faults_fired("generator") == [kind]
        assert t.query("*IDN?").startswith("Agilent Technologies,33522B,")
    finally:
        t.close()
