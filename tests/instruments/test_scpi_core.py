"""The simulator's SCPI core over a real socket: syntax, common commands, error queue."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import numpy as np
import pytest

from instruments.sim import SimBench


class Raw:
    """A bare SCPI socket client, so these tests do not depend on our drivers."""

    def __init__(self, resource: str) -> None:
        port = int(resource.split("::")[2])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        self.stream = self.sock.makefile("rb")

    def write(self, message: str) -> None:
        self.sock.sendall(message.encode() + b"\n")

    def query(self, message: str) -> str:
        self.write(message)
        return self.stream.readline().decode().rstrip("\n")

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@pytest.fixture
def gen(sim: SimBench) -> Iterator[Raw]:
    raw = Raw(sim.resources["generator"])
    yield raw
    raw.close()


@pytest.fixture
def scope(sim: SimBench) -> Iterator[Raw]:
    raw = Raw(sim.resources["scope"])
    yield raw
    raw.close()


def test_case_short_long_optional_nodes_and_suffixes(gen: Raw) -> None:
    gen.write("outp1:load inf")
    gen.write("source1:function:pulse:width 200us")
    assert gen.query("FUNC:PULS:WIDT?") == "+2.000000000000000E-04"  # SOUR1 implied
    gen.write(":SOURce1:VOLTage:HIGH 2.5 V")
    assert gen.query("sour1:volt:high?") == "+2.500000000000000E+00"
    gen.write("SOUR2:VOLT:HIGH 1.5E0")
    assert gen.query("SOUR2:VOLT:HIGH?") == "+1.500000000000000E+00"
    assert gen.query("SOUR1:VOLT:HIGH?") == "+2.500000000000000E+00"
    assert gen.query("SYST:ERR?") == '+0,"No error"'


def test_semicolon_chaining_keeps_the_current_path(gen: Raw) -> None:
    gen.write("SOUR1:FUNC:PULS:PER 0.02;WIDT 0.5ms")
    assert gen.query("SOUR1:FUNC:PULS:PER?;WIDT?") == (
        "+2.000000000000000E-02;+5.000000000000000E-04"
    )
    assert gen.query("*OPC?;:OUTP1?") == "1;0"


def test_on_off_min_max_def(gen: Raw) -> None:
    gen.write("OUTP1 ON")
    assert gen.query("OUTP1?") == "1"
    gen.write("OUTP1 0")
    assert gen.query("OUTP1?") == "0"
    gen.write("BURS:NCYC MAX")
    assert gen.query("BURS:NCYC?") == "+1.000000000000000E+08"
    gen.write("BURS:NCYC DEF")
    assert gen.query("BURS:NCYC?") == "+1.000000000000000E+00"


def test_unknown_query_gets_no_reply_and_queues_113(sim: SimBench, gen: Raw) -> None:
    gen.write("SOUR1:NONSENSE?")
    gen.sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        gen.stream.readline()
    fresh = Raw(sim.resources["generator"])  # a timed-out stream is unusable; reconnect
    assert fresh.query("SYST:ERR?") == '-113,"Undefined header; SOUR1:NONSENSE"'
    assert fresh.query("SYST:ERR?") == '+0,"No error"'
    fresh.close()


def test_out_of_range_and_status_registers(gen: Raw) -> None:
    gen.write("*CLS")
    gen.write("OUTP1:LOAD 50")
    gen.write("SOUR1:VOLT:HIGH 6")  # 6 V into 50 Ω would be 12 V open circuit
    assert gen.query("*STB?") == "+4"  # error queue not empty
    assert gen.query("*ESR?") == "+16"  # execution error
    assert gen.query("SYST:ERR?").startswith("-222,")
    assert gen.query("*ESR?") == "+0"


def test_error_queue_overflow_reports_350(gen: Raw) -> None:
    gen.write("*CLS")
    for _ in range(25):
        gen.write("FOO:BAR")
    replies = [gen.query("SYST:ERR?") for _ in range(21)]
    assert replies[:19] == ['-113,"Undefined header; FOO:BAR"'] * 19
    assert replies[19] == '-350,"Queue overflow"'
    assert replies[20] == '+0,"No error"'


def test_common_commands(gen: Raw) -> None:
    assert gen.query("*IDN?").startswith("Agilent Technologies,33522B,")
    assert gen.query("*TST?") == "+0"
    gen.write("OUTP1 ON")
    gen.write("*RST")
    assert gen.query("OUTP1?") == "0"
    assert gen.query("OUTP1:LOAD?") == "+5.000000000000000E+01"  # factory: 50 Ω
    gen.write("*TRG")  # no bus-triggered burst configured
    assert gen.query("SYST:ERR?") == '-211,"Trigger ignored"'
    assert gen.query("*WAI;*OPC?") == "1"


def test_load_setting_doubles_the_real_voltage(sim: SimBench, gen: Raw) -> None:
    gen.write("SOUR1:FUNC PULS;:OUTP1:LOAD 50;:SOUR1:VOLT:LOW 0;HIGH 1")
    gen.write("SOUR1:BURS:STAT ON;:TRIG1:SOUR BUS;:OUTP1 ON;*TRG")
    assert gen.query("*OPC?") == "1"
    assert sim.stimulator.delivered[-1].current_mA == pytest.approx(20.0)  # 2 V × 10 mA/V
    gen.write("OUTP1:LOAD INF")  # the physical output is unchanged; the display doubles
    assert gen.query("SOUR1:VOLT:HIGH?") == "+2.000000000000000E+00"


def test_stimulator_ceiling(sim: SimBench, gen: Raw) -> None:
    gen.write("SOUR1:FUNC PULS;:OUTP1:LOAD INF;:SOUR1:VOLT:LOW 0;HIGH 10")
    gen.write("SOUR1:BURS:STAT ON;:TRIG1:SOUR BUS;:OUTP1 ON;*TRG;:OUTP1 OFF")
    assert gen.query("*OPC?") == "1"
    assert sim.stimulator.delivered[-1].current_mA == 100.0


def test_binary_block_and_ter(sim: SimBench, scope: Raw) -> None:
    scope.write(":TIM:SCAL 1ms;:WAV:POIN 1000;FORM BYTE;:TRIG:EDGE:SOUR EXT;LEV 1")
    assert scope.query(":TER?") == "+0"
    assert scope.query(":SING;*OPC?") == "1"
    sim.generator.handle_message("SOUR1:FUNC PULS;BURS:STAT ON;:TRIG1:SOUR BUS;*TRG")
    assert scope.query(":TER?") == "+1"
    assert scope.query(":TER?") == "+0"
    scope.write(":WAV:DATA?")
    assert scope.stream.read(10) == b"#800001000"
    assert len(scope.stream.read(1000)) == 1000
    assert scope.stream.read(1) == b"\n"


def test_scope_without_trigger_has_no_data(scope: Raw) -> None:
    scope.write(":SINGle")
    assert scope.query(":TER?") == "+0"
    assert scope.query(":OPER:COND?") == "+40"
    scope.write(":WAV:PRE?")
    scope.sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        scope.stream.readline()


def test_burst_train_and_free_running_output(sim: SimBench, gen: Raw) -> None:
    """A 3-pulse train on one *TRG (future RNS), and free-running bursts that stop with OUTP OFF."""
    import time

    gen.write("SOUR1:FUNC PULS;:OUTP1:LOAD INF;:SOUR1:VOLT:LOW 0;HIGH 1;:SOUR1:FUNC:PULS:PER 0.02")
    gen.write("SOUR1:BURS:MODE TRIG;NCYC 3;STAT ON;:TRIG1:SOUR BUS;:OUTP1 ON;*TRG")
    assert gen.query("*OPC?") == "1"
    time.sleep(0.2)
    times = [s.time_s for s in sim.stimulator.delivered]
    assert len(times) == 3
    assert np.diff(times) == pytest.approx([0.02, 0.02], abs=0.01)
    gen.write("TRIG1:SOUR IMM;:SOUR1:BURS:NCYC 1;INT:PER 0.05")  # a burst every 50 ms
    time.sleep(0.3)
    gen.write("OUTP1 OFF")
    assert gen.query("*OPC?") == "1"
    count = len(sim.stimulator.delivered)
    assert 3 + 3 <= count <= 3 + 7
    time.sleep(0.15)
    assert len(sim.stimulator.delivered) == count
