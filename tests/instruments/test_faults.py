"""Injected instrument faults: each surfaces as the right InstrumentError naming role and
resource, the stimulator output is off afterwards, and the bench works again after it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from instruments.bench import Bench, SweepSettings
from instruments.bench_config import BenchProfile
from instruments.clock import FastClock
from instruments.errors import (
    InstrumentConnectionError,
    InstrumentError,
    InstrumentProtocolError,
    InstrumentTimeout,
    UnsupportedInstrument,
)
from instruments.sim import SimBench

SWEEP = SweepSettings(window_ms=20, pretrigger_ms=2, sensitivity_mV_per_div=5)
TIMEOUT_MS = 300


@pytest.fixture
def quick(profile: BenchProfile) -> BenchProfile:
    return replace(profile, timeout_ms=TIMEOUT_MS)


@pytest.fixture
def rig(sim: SimBench, profile: BenchProfile, quick: BenchProfile) -> Iterator[Bench]:
    """Set up with the profile's timeout (loading a subject on a busy machine can take more
    than 300 ms), then shorten every session's timeout for the fault under test."""
    clock = FastClock()
    bench = Bench.connect(profile, sim.resources, clock, sim_seed=7)
    bench.connect_subject("normal-adult")
    bench.place_electrodes("median", "wrist", "APB")
    bench.profile = quick
    for driver in (bench.generator, bench.scope, bench.subject_link):
        assert driver is not None
        driver.t.set_timeout(TIMEOUT_MS)
    yield bench
    bench.close()


def _stimulate(bench: Bench, current: float = 30.0, sweep: SweepSettings = SWEEP) -> None:
    bench.clock.sleep(1.0)
    bench.stimulate_and_record(current, 0.2, sweep)


# pyvisa-py drops a partial read when it times out, and reports a socket the peer closed
# as a timeout; the transport names a drop or a short block when it can see it, else the
# silence is a timeout. Both leave the stimulator off and the session reopened.
CUT = (InstrumentConnectionError, InstrumentTimeout)
SHORT = (InstrumentProtocolError, InstrumentTimeout)


@pytest.mark.parametrize(
    ("role", "kind", "value", "match", "error", "detail"),
    [
        ("scope", "slow", 800, ":WAV:PRE?", InstrumentTimeout, "no reply to :WAV:PRE?"),
        ("scope", "timeout", 0, ":WAV:DATA?", InstrumentTimeout, "no reply to :WAV:DATA?"),
        ("scope", "drop", 0, ":WAV:DATA?", CUT, ":WAV:DATA?"),
        ("scope", "truncate", 0, ":WAV:DATA?", SHORT, ":WAV:DATA?"),
        ("scope", "garbage", 0, ":WAV:PRE?", InstrumentProtocolError, ":WAV:PRE?"),
        ("scope", "error", -222, ":CHAN1:SCAL", InstrumentProtocolError, "-222"),
        ("generator", "timeout", 0, "*OPC?", InstrumentTimeout, "no reply to *OPC?"),
        ("generator", "garbage", 0, "SOUR1:FUNC?", InstrumentProtocolError, "SOUR1:FUNC?"),
        ("generator", "error", -222, "VOLT:HIGH", InstrumentProtocolError, "-222"),
        ("generator", "restart", 0, "*TRG", InstrumentError, ""),
    ],
)
def test_fault_is_reported_and_output_is_off(
    sim: SimBench, rig: Bench, role: str, kind: str, value: float, match: str,
    error: type[InstrumentError] | tuple[type[InstrumentError], ...], detail: str,
) -> None:
    _stimulate(rig)  # the bench works before
    delivered = len(sim.stimulator.delivered)
    sim.inject_fault(role, kind, value=value, match=match)
    with pytest.raises(error) as info:  # new settings, so nothing is skipped as unchanged
        _stimulate(rig, 35.0, replace(SWEEP, sensitivity_mV_per_div=2))
    message = str(info.value)
    resource = sim.resources["generator" if role == "generator" else role]
    assert f"({resource})" in message and detail in message
    assert message.startswith(("stimulator (", f"{role} ("))
    assert sim.generator.ch[1].output is False
    assert sim.faults_fired(role) == [kind]
    if kind == "restart":
        assert len(sim.stimulator.delivered) == delivered  # no pulse reached the subject
    else:
        _stimulate(rig)  # and it works again afterwards (stale replies flushed)


def test_slow_reply_within_the_timeout_only_costs_time(sim: SimBench, rig: Bench) -> None:
    sim.inject_fault("scope", "slow", value=100, match=":WAV:DATA?")
    _stimulate(rig)
    assert sim.faults_fired("scope") == ["slow"]


@pytest.mark.parametrize("role", ["generator", "scope"])
def test_wrong_idn_refuses_to_connect(sim: SimBench, quick: BenchProfile, role: str) -> None:
    sim.inject_fault(role, "idn")
    with pytest.raises(UnsupportedInstrument, match=r"ACME INSTRUMENTS") as info:
        Bench.connect(quick, sim.resources, FastClock())
    assert f"{role} ({sim.resources[role]})" in str(info.value)
    assert sim.generator.ch[1].output is False


def test_faults_over_the_subject_link(sim: SimBench, rig: Bench) -> None:
    """A separate sim process is faulted through the subject link (FAULt:INJect)."""
    assert rig.subject_link is not None
    rig.subject_link.inject_fault("scope", "garbage", match=":WAV:PRE?")
    with pytest.raises(InstrumentProtocolError, match=r":WAV:PRE\?"):
        _stimulate(rig)
    assert sim.generator.ch[1].output is False
