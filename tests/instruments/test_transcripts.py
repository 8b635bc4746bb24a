"""Driver transcripts written from the programming manuals, replayed two ways:
against a loopback transcript server (the driver must send exactly these messages)
and against the simulator (it must answer exactly as the manual says).

Every step cites its manual (`MANUALS`, by key) and the section that documents the
message. Page numbers are given only where a copy of the manual was seen; otherwise the
citation says "page not confirmed" — none is guessed. Document (part) numbers of the
Keysight guides were not confirmed either and are left out rather than invented.
Facts used beyond the messages themselves: the 33500B answers OUTPut:LOAD? with
9.9E+37 for INFinity and numeric queries in NR3; InfiniiVision's preamble has 10 fields
with volts = (code − yreference) × yincrement + yorigin and data as an #8 block;
the DS1000Z's preamble has the same 10 fields but volts = (code − yorigin − yreference)
× yincrement (yorigin in codes), reals written like 1.000000e-09, and :WAV:DATA? blocks
carry a 9-digit length header (#9000001200).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from instruments.clock import FastClock
from instruments.generator_33500 import Generator33500
from instruments.scope_ds1000z import RigolDS1000ZScope
from instruments.scope_infiniivision import Acquisition, InfiniiVisionScope
from instruments.sim import SimBench
from instruments.sim.scpi_syntax import block
from instruments.sim.transcript import Step, replay_on_sim
from instruments.stimulator import ConstantCurrentStimulator, StimulusLimits
from instruments.subject_link import SubjectLink
from instruments.transport import Transport

MANUALS = {
    "33500B": "Keysight Trueform 33500B Series Waveform Generators Operating and Service "
              "Guide, chapter SCPI Programming Reference (document number not confirmed)",
    "3000T": "Keysight InfiniiVision 3000T X-Series Oscilloscopes Programmer's Guide "
             "(document number not confirmed)",
    "DS1000Z": "RIGOL DS1000Z Programming Guide (edition seen: the DS1104Z copy at "
               "easymanua.ls/rigol/ds1104z/manual/1060105), chapter 2 Command System",
    "IEEE488.2": "IEEE Std 488.2 common commands, as listed in each instrument's guide",
    "edxbench": "instruments/sim/subject_link.py (our own instrument; no manufacturer)",
}
NO_PAGE = "page not confirmed"

# Where each message is documented: header prefix → "<manual>: <section>, <page>".
CITES = {
    "33500B": {
        "OUTP1:LOAD": "OUTPut:LOAD subsystem", "OUTP1": "OUTPut subsystem, OUTPut[1|2]",
        "SOUR1:FUNC:PULS": "SOURce:FUNCtion:PULSe:WIDTh / :PERiod",
        "SOUR1:FUNC?": "SOURce:FUNCtion, FUNCtion:PULSe, VOLTage, OUTPut:LOAD, BURSt, "
                       "TRIGger:SOURce queries (chained with ;:)",
        "SOUR1:FUNC": "SOURce:FUNCtion PULSe", "SOUR1:VOLT": "SOURce:VOLTage:HIGH / :LOW",
        "SOUR1:BURS": "BURSt subsystem (MODE, NCYCles, STATe)",
        "TRIG1:SOUR": "TRIGger:SOURce BUS", "SYST:ERR?": "SYSTem:ERRor?",
    },
    "3000T": {
        ":TIM": ":TIMebase commands (:SCALe, :POSition, :REFerence)",
        ":CHAN1": ":CHANnel<n> commands (:SCALe, :OFFSet, :COUPling)",
        ":TRIG:SWE": ":TRIGger:SWEep", ":TRIG:EDGE": ":TRIGger[:EDGE] commands",
        ":ACQ": ":ACQuire:TYPE", ":STOP": "Root level :STOP", ":SINGle": "Root level :SINGle",
        ":TER?": "Root level :TER? (Trigger Event Register)",
        ":OPER:COND?": "Root level :OPERegister:CONDition? (bit 3 Run, bit 5 Wait Trig)",
        ":WAV:PRE?": ":WAVeform:PREamble?", ":WAV:DATA?": ":WAVeform:DATA?",
        ":WAV": ":WAVeform commands (:SOURce, :FORMat, :BYTeorder, :UNSigned, :POINts)",
        "SYST:ERR?": ":SYSTem:ERRor?",
    },
    "DS1000Z": {
        ":WAV:DATA?": ":WAVeform:DATA?, p. 2-136 (#9 TMC header; RAW reads need :STOP)",
        ":WAV:PRE?": ":WAVeform:PREamble?, p. 2-140",
        ":WAV": ":WAVeform commands (:SOURce, :MODE, :FORMat, :STARt, :STOP), " + NO_PAGE,
        ":TIM:MAIN": ":TIMebase[:MAIN]:SCALe / :OFFSet, " + NO_PAGE,
        ":CHAN": ":CHANnel<n> commands (:DISPlay, :PROBe, :SCALe, :OFFSet, :COUPling), "
                 + NO_PAGE,
        ":TRIG:STAT?": ":TRIGger:STATus? (TD, WAIT, RUN, AUTO, STOP), " + NO_PAGE,
        ":TRIG": ":TRIGger:MODE, :TRIGger:SWEep, :TRIGger:EDGe commands, " + NO_PAGE,
        ":ACQ": ":ACQuire:TYPE / :MDEPth, " + NO_PAGE,
        ":STOP": "root :STOP, " + NO_PAGE, ":SING": "root :SINGle, " + NO_PAGE,
        "SYST:ERR?": ":SYSTem:ERRor[:NEXT]?, " + NO_PAGE,
    },
}


def cited(manual: str, steps: list[Step]) -> list[Step]:
    """Attach each step's citation (IEEE 488.2 common commands share one)."""
    out = []
    for step in steps:
        if step.cite:
            out.append(step)
            continue
        if step.sent.startswith("*"):
            cite = f"IEEE488.2: {step.sent.rstrip('?')} ({MANUALS[manual].split(',')[0]})"
        else:
            table = CITES[manual]
            key = max((k for k in table if step.sent.startswith(k)), key=len, default=None)
            assert key is not None, f"{manual}: no citation for {step.sent!r}"
            section = table[key]
            if manual != "DS1000Z":
                section += ", " + NO_PAGE
            cite = f"{manual}: {section}"
        out.append(replace(step, cite=cite))
    return out


GEN_IDN = "Agilent Technologies,33522B,MY00000001,4.00-1.19-2.00-58-00"
SCOPE_IDN = "KEYSIGHT TECHNOLOGIES,DSO-X 3024T,MY00000002,07.50.2021102830"
NO_ERROR = '+0,"No error"'
LIMITS = StimulusLimits(100.0, 1.0, 50.0, 32.4, 1000.0)

STIMULATOR_CONNECT = cited("33500B", [
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
])

STIMULUS_25MA_200US = cited("33500B", [
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
])

GENERATOR_SESSION = [
    *STIMULATOR_CONNECT, *STIMULUS_25MA_200US,
    *cited("33500B", [Step("OUTP1 OFF"), Step("OUTP1?", "0")]),
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


SCOPE_SESSION = cited("3000T", [
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
])

SUBJECT_IDN = "edxbench,SUBJECT-LINK,SIM0001,0.1"
# The subject link is our own instrument; its transcript follows instruments/sim/subject_link.py.
SUBJECT_SESSION = [replace(step, cite=MANUALS["edxbench"]) for step in [
    Step("*IDN?", SUBJECT_IDN),
    Step('SUBJ:LOAD "normal-adult"'),
    Step("SYST:ERR?", NO_ERROR),
    Step('ELEC:REC "median","APB"'),
    Step("SYST:ERR?", NO_ERROR),
    Step('ELEC:STIM "median","wrist"'),
    Step("SYST:ERR?", NO_ERROR),
    Step('SUBJ:DIST? "median","wrist","elbow";:SYST:ERR?', '+2.300000E+02;+0,"No error"'),
]]


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


RIGOL_IDN = "RIGOL TECHNOLOGIES,DS1104Z,DS1ZA000000001,00.04.05.SP2"
# 20 ms asked → 2 ms/div (1-2-5 step, 24 ms on 12 divisions); 2000 points asked → 12 000
# (smallest memory depth). 5 V/div → yincrement 0.2 V (25 codes per division), code 127
# at the centre. Codes include 0x0A so the reader must not stop at LF.
RIGOL_CODES = ((np.arange(12_000) * 7 + 10) % 256).astype(np.uint8)
RIGOL_PREAMBLE = "0,2,12000,1,2.000000e-06,-2.000000e-03,0,2.000000e-01,0,127"
RIGOL_SESSION = cited("DS1000Z", [
    Step("*IDN?", RIGOL_IDN),
    Step(":STOP"),
    Step(":CHAN2:DISP 0"),
    Step(":CHAN3:DISP 0"),
    Step(":CHAN4:DISP 0"),
    Step(":CHAN1:DISP 1"),
    Step(":CHAN1:PROB 1"),
    Step(":CHAN2:PROB 1"),
    Step(":CHAN1:SCAL 5"),
    Step(":CHAN1:OFFS 0"),
    Step(":CHAN1:COUP DC"),
    Step(":TIM:MAIN:SCAL 0.002"),
    Step(":TIM:MAIN:OFFS 0.01"),
    Step(":TRIG:MODE EDGE"),
    Step(":TRIG:EDGE:SOUR CHAN2"),
    Step(":TRIG:EDGE:SLOP POS"),
    Step(":TRIG:EDGE:LEV 1"),
    Step(":TRIG:SWE NORM"),
    Step(":ACQ:TYPE NORM"),
    Step(":ACQ:MDEP 12000"),
    Step(":WAV:SOUR CHAN1"),
    Step(":WAV:MODE RAW"),
    Step(":WAV:FORM BYTE"),
    # Reply form of an empty queue not confirmed for the DS1000Z; the sim adds '+'.
    Step("SYST:ERR?", '0,"No error"', sim_reply=r'\+?0,"No error"'),
    Step(":SING"),
    Step(":TRIG:STAT?", "WAIT"),
    Step(":TRIG:STAT?", "STOP", sim_action=_fire_generator),
    Step(":WAV:PRE?", RIGOL_PREAMBLE),
    Step(":WAV:STAR 1"),
    Step(":WAV:STOP 12000"),
    Step(":WAV:DATA?", block(RIGOL_CODES.tobytes(), 9), sim_reply=r"#9000012000.{12000}"),
])


def test_rigol_scope_sends_the_manual_sequence_and_scales_by_its_preamble(transcript) -> None:
    server = transcript(RIGOL_SESSION)
    t = Transport(server.resource, "scope")
    try:
        scope = RigolDS1000ZScope(t)
        scope.configure(ACQ)
        scope.arm()
        scope.wait_triggered(1.0)
        codes, pre = scope.read_waveform()
    finally:
        t.close()
    server.verify()
    np.testing.assert_array_equal(codes, RIGOL_CODES)
    scale, offset = pre.volts_per_code()
    assert scale == 0.2 and offset == -127 * 0.2  # (code − 0 − 127) × 0.2
    assert pre.timebase() == (500_000.0, -2e-3)


def test_simulated_rigol_answers_as_the_manual() -> None:
    with SimBench(seed=7, scope_model="ds1000z") as rigol:
        replay_on_sim(rigol, "scope", RIGOL_SESSION)


def test_every_transcript_step_cites_its_manual() -> None:
    for session in (GENERATOR_SESSION, SCOPE_SESSION, RIGOL_SESSION, SUBJECT_SESSION):
        for step in session:
            key, _, section = step.cite.partition(": ")
            assert key in MANUALS or step.cite == MANUALS["edxbench"], step
            if key in ("33500B", "3000T", "DS1000Z"):
                assert "p. " in section or NO_PAGE in section, step  # a page, or says so
