"""Driver transcripts written from the programming manuals, replayed two ways:
against a loopback transcript server (the driver must send exactly these messages)
and against the simulator (it must answer exactly as the manual says).

Sources:
- Keysight 33500B Series Waveform Generators Operating and Service Guide, chapter
  "SCPI Programming Reference": OUTPut subsystem (OUTPut[1|2] ON|OFF, OUTPut:LOAD
  INFinity; the query returns 9.9E+37 for INFinity), SOURce:FUNCtion (PULSe),
  FUNCtion:PULSe:WIDTh / :PERiod, VOLTage:HIGH / :LOW, BURSt:MODE / :NCYCles /
  :STATe, TRIGger:SOURce BUS, IEEE-488 common commands (*IDN?, *CLS, *TRG, *OPC?),
  SYSTem:ERRor? (+0,"No error"). Numeric queries answer in NR3 with 15 decimals.
- Keysight InfiniiVision 3000T X-Series Oscilloscopes Programmer's Guide: :TIMebase
  (:SCALe, :POSition, :REFerence CENTer), :CHANnel<n> (:SCALe, :OFFSet, :COUPling),
  :TRIGger:SWEep NORMal, :TRIGger[:EDGE]:SOURce EXTernal / :SLOPe / :LEVel,
  :ACQuire:TYPE HRESolution, :SINGle, :TER? (+1 once after a trigger),
  :OPERegister:CONDition? (bit 3 Run, bit 5 Wait Trig), :WAVeform:SOURce / :FORMat
  WORD / :BYTeorder LSBFirst / :UNSigned OFF / :POINts:MODE RAW / :POINts,
  :WAVeform:PREamble? (format, type, points, count, xincrement, xorigin, xreference,
  yincrement, yorigin, yreference) and :WAVeform:DATA? as an #8 definite-length block.
"""

from __future__ import annotations

import numpy as np

from instruments.clock import FastClock
from instruments.generator_33500 import Generator33500
from instruments.scope_infiniivision import Acquisition, InfiniiVisionScope
from instruments.sim import SimBench
from instruments.sim.scpi_syntax import block
from instruments.sim.transcript import Step, replay_on_sim
from instruments.stimulator import ConstantCurrentStimulator, StimulusLimits
from instruments.subject_link import SubjectLink
from instruments.transport import Transport

GEN_IDN = "Agilent Technologies,33522B,MY00000001,4.00-1.19-2.00-58-00"
SCOPE_IDN = "KEYSIGHT TECHNOLOGIES,DSO-X 3024T,MY00000002,07.50.2021102830"
NO_ERROR = '+0,"No error"'
LIMITS = StimulusLimits(100.0, 1.0, 50.0, 32.4, 1000.0)

STIMULATOR_CONNECT = [
    Step("*IDN?", GEN_IDN),
    Step("OUTP1 OFF"),
    Step("OUTP1?", "0"),
    Step("*CLS"),
    Step("OUTP1:LOAD INF"),
    Step("SOUR1:FUNC PULS"),
    Step("SOUR1:FUNC:PULS:PER 0.01"),
    Step("SOUR1:VOLT:LOW 0"),
    Step("SOUR1:BURS:MODE TRIG"),
    Step("SOUR1:BURS:NCYC 1"),
    Step("TRIG1:SOUR BUS"),
    Step("SOUR1:BURS:STAT ON"),
    Step("SYST:ERR?", NO_ERROR),
]

STIMULUS_25MA_200US = [
    Step("SOUR1:FUNC:PULS:WIDT 0.0002"),
    Step("SOUR1:VOLT:HIGH 2.5"),
    Step(
        "SOUR1:FUNC?;:SOUR1:FUNC:PULS:WIDT?;:SOUR1:VOLT:HIGH?;:SOUR1:VOLT:LOW?;"
        ":OUTP1:LOAD?;:SOUR1:BURS:STAT?;:SOUR1:BURS:NCYC?;:TRIG1:SOUR?",
        "PULS;+2.000000000000000E-04;+2.500000000000000E+00;+0.000000000000000E+00;"
        "+9.900000000000000E+37;1;+1.000000000000000E+00;BUS",
    ),
    Step("OUTP1 ON"),
    Step("*TRG"),
    Step("*OPC?", "1"),
    Step("OUTP1 OFF"),
    Step("OUTP1?", "0"),
]

GENERATOR_SESSION = [
    *STIMULATOR_CONNECT, *STIMULUS_25MA_200US, Step("OUTP1 OFF"), Step("OUTP1?", "0")
]

# 20 ms window, 2 ms before the stimulus, 5 V/div at the scope (5 mV/div × gain 1000).
ACQ = Acquisition(channel=1, volts_per_div=5.0, offset_v=0.0, window_s=0.02,
                  pretrigger_s=0.002, points=2000, trigger_level_v=1.0)
# Codes chosen so the payload contains LF (0x0A) bytes the reader must not stop at.
CODES = (np.arange(2000, dtype=np.int16) * 7 - 5000).astype("<i2")
PREAMBLE = ("+1,+3,+2000,+1,+1.00000000E-05,-2.00000000E-03,+0,+6.10351562E-04,"
            "+0.00000000E+00,+0")


def _fire_generator(sim: SimBench) -> None:
    """In the sim the stimulus comes from the generator's sync output into EXT."""
    sim.generator.handle_message("SOUR1:FUNC PULS;BURS:STAT ON;:TRIG1:SOUR BUS;*TRG")


SCOPE_SESSION = [
    Step("*IDN?", SCOPE_IDN),
    Step(":STOP"),
    Step(":TIM:REF CENT"),
    Step(":TIM:SCAL 0.002"),
    Step(":TIM:POS 0.008"),
    Step(":CHAN1:SCAL 5"),
    Step(":CHAN1:OFFS 0"),
    Step(":CHAN1:COUP DC"),
    Step(":TRIG:SWE NORM"),
    Step(":TRIG:EDGE:SOUR EXT"),
    Step(":TRIG:EDGE:SLOP POS"),
    Step(":TRIG:EDGE:LEV 1"),
    Step(":ACQ:TYPE HRES"),
    Step(":WAV:SOUR CHAN1"),
    Step(":WAV:FORM WORD"),
    Step(":WAV:BYT LSBF"),
    Step(":WAV:UNS OFF"),
    Step(":WAV:POIN:MODE RAW"),
    Step(":WAV:POIN 2000"),
    Step("SYST:ERR?", NO_ERROR),
    Step(":TER?", "+0"),
    Step(":SINGle"),
    Step(":OPER:COND?", "+40"),
    Step(":TER?", "+1", sim_action=_fire_generator),
    Step(":WAV:PRE?", PREAMBLE),
    Step(":WAV:DATA?", block(CODES.tobytes(), 8), sim_reply=r"#800004000.{4000}"),
]

SUBJECT_IDN = "edxbench,SUBJECT-LINK,SIM0001,0.1"
# The subject link is our own instrument; its transcript follows instruments/sim/subject_link.py.
SUBJECT_SESSION = [
    Step("*IDN?", SUBJECT_IDN),
    Step('SUBJ:LOAD "normal-adult"'),
    Step("SYST:ERR?", NO_ERROR),
    Step('ELEC:REC "median","APB"'),
    Step("SYST:ERR?", NO_ERROR),
    Step('ELEC:STIM "median","wrist"'),
    Step("SYST:ERR?", NO_ERROR),
    Step('SUBJ:DIST? "median","wrist","elbow";:SYST:ERR?', '+2.300000E+02;+0,"No error"'),
]


def test_generator_and_stimulator_send_the_manual_sequence(transcript) -> None:
    server = transcript(GENERATOR_SESSION)
    t = Transport(server.resource, "generator")
    try:
        stim = ConstantCurrentStimulator(Generator33500(t), LIMITS, 10.0, FastClock())
        settings = stim.deliver(25.0, 0.2)
        stim.close()
    finally:
        t.close()
    server.verify()
    assert settings.high_v == 2.5 and settings.load_ohm == float("inf")


def test_scope_sends_the_manual_sequence_and_decodes_the_block(transcript) -> None:
    server = transcript(SCOPE_SESSION)
    t = Transport(server.resource, "scope")
    try:
        scope = InfiniiVisionScope(t)
        scope.configure(ACQ)
        scope.arm()
        scope.wait_triggered(1.0)
        codes, pre = scope.read_waveform()
    finally:
        t.close()
    server.verify()
    np.testing.assert_array_equal(codes, CODES)
    assert pre.points == 2000 and pre.x_increment == 1e-5 and pre.x_origin == -2e-3
    assert pre.y_increment == 6.10351562e-4 and pre.y_reference == 0


def test_subject_link_sends_its_documented_sequence(transcript) -> None:
    server = transcript(SUBJECT_SESSION)
    t = Transport(server.resource, "subject")
    try:
        link = SubjectLink(t)
        link.load("normal-adult")
        link.place("recording", "median", "APB")
        link.place("stimulus", "median", "wrist")
        assert link.distance_mm("median", "wrist", "elbow") == 230.0
    finally:
        t.close()
    server.verify()


def test_simulated_generator_answers_as_the_manual(sim: SimBench) -> None:
    replay_on_sim(sim, "generator", GENERATOR_SESSION)
    assert sim.stimulator.delivered[-1].current_mA == 25.0


def test_simulated_scope_answers_as_the_manual(sim: SimBench) -> None:
    replay_on_sim(sim, "scope", SCOPE_SESSION)


def test_simulated_subject_link_answers_as_documented(sim: SimBench) -> None:
    replay_on_sim(sim, "subject", SUBJECT_SESSION)
