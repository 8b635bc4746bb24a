"""Contraindications gate steps; only a typed, audited override lets a gated step run.

Two property tests: an exhaustive one over every shipped protocol and every combination of
checklist answers, through the runner's checklist and gate path (no instrument is touched
unless a gate fails), and a sampled one (hypothesis) that runs whole protocols on the
simulated bench and reads the audit back from SQLite.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import events as ev
from engine.prompts import HeadlessPrompter
from engine.protocol import (
    NeedleStep,
    Protocol,
    ProtocolError,
    SafetyChecklistStep,
    StimulateStep,
    load_protocol,
)
from engine.reference import EMPTY_REFERENCE, load_references
from engine.resume import ResumePoint
from engine.runner import Run, _target
from engine.safety import SafetyState, StepTarget, decide, is_override, load_safety
from instruments.bench import open_bench
from instruments.clock import FastClock
from storage.database import open_database
from storage.recorder import RunRecorder
from tests.conftest import ROOT

DATA = load_safety()
SHIPPED = sorted((ROOT / "protocols").glob("*.yaml"))
BENCH_PROTOCOLS = sorted((ROOT / "protocols" / "bench").glob("*.yaml"))
PROBE = ROOT / "tests" / "data" / "protocols" / "gate_probe.yaml"


def state(**answers: object) -> SafetyState:
    return SafetyState(dict(answers), str(answers.get("side", "")))


def actions(target: StepTarget, s: SafetyState) -> set[tuple[str, str]]:
    return {(hit.rule_id, hit.action) for hit in decide(target, s, DATA)}


def test_rules_follow_the_cited_contraindications() -> None:
    erb, wrist = StepTarget("stimulate", site="erb"), StepTarget("stimulate", site="wrist")
    assert ("device-proximal-stimulation", "gate") in actions(erb, state(pacemaker_or_icd=True))
    assert actions(wrist, state(pacemaker_or_icd=True)) == set()
    assert actions(erb, state(pacemaker_or_icd=False)) == set()
    paraspinal = StepTarget("needle", muscle="lumbar_paraspinals")
    ta = StepTarget("needle", muscle="tibialis_anterior")
    assert ("anticoag-noncompressible", "gate") in actions(paraspinal,
                                                           state(anticoagulation=True))
    assert actions(ta, state(anticoagulation=True)) == {("anticoag-needle-caution", "warn")}
    apb = StepTarget("needle", muscle="APB")
    assert ("lymphedema-limb", "gate") in actions(apb, state(side="left",
                                                             lymphedema_limb="left arm"))
    assert actions(apb, state(side="right", lymphedema_limb="left arm")) == set()
    infected = state(skin_infection_sites="FDI, tibialis_anterior")
    assert ("infected-skin", "gate") in actions(ta, infected)
    assert ("cold-limb", "warn") in actions(wrist, state(limb_temperature_c=30.5))
    assert all(hit.citation for hit in decide(erb, state(pacemaker_or_icd=True), DATA))


def test_override_needs_the_word_and_a_reason() -> None:
    assert is_override("OVERRIDE lead position confirmed by cardiology") == (
        True, "lead position confirmed by cardiology")
    assert is_override("OVERRIDE") == (False, "")
    assert is_override("yes") == (False, "")
    assert is_override("") == (False, "")


def test_checklist_must_precede_stimulation(tmp_path: Path) -> None:
    text = PROBE.read_text().replace(
        "    - {id: checklist, kind: safety_checklist, title: Safety checklist}\n", "")
    path = tmp_path / "no_checklist.yaml"
    path.write_text(text)
    with pytest.raises(ProtocolError, match="before any safety_checklist"):
        load_protocol(path)


@pytest.fixture(scope="module")
def bench():
    b = open_bench("sim", clock=FastClock(), seed=5, sim_time_scale=100.0)
    b.connect_subject("normal-adult")
    yield b
    b.close()


CHECKLIST = st.fixed_dictionaries({
    "checklist.side": st.sampled_from(["left", "right"]),
    "checklist.anticoagulation": st.booleans(),
    "checklist.pacemaker_or_icd": st.booleans(),
    "checklist.lymphedema_limb": st.sampled_from(["none", "left arm", "right arm",
                                                  "left leg", "right leg"]),
    "checklist.skin_infection_sites": st.sampled_from(["", "tibialis_anterior", "APB, FDI"]),
    "checklist.limb_temperature_c": st.sampled_from([28.0, 31.9, 33.0]),
    "checklist.days_since_injury": st.sampled_from([0, 5, 60]),
})
OVERRIDE_TEXT = st.sampled_from(["", "yes", "OVERRIDE", "OVERRIDE cardiology cleared it"])


@settings(max_examples=100 if os.environ.get("EDXBENCH_FULL") == "1" else 10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(protocol_path=st.sampled_from([*SHIPPED, PROBE]), checklist=CHECKLIST,
       override=OVERRIDE_TEXT)
def test_no_gated_step_runs_without_an_audited_override(
        bench, tmp_path_factory: pytest.TempPathFactory, protocol_path: Path,
        checklist: dict, override: str) -> None:
    protocol = load_protocol(protocol_path)
    answers = dict(checklist)
    for step in protocol.steps:
        answers[f"{step.id}.override"] = override
        answers[f"{step.id}.fault"] = "skip"  # a site the virtual subject lacks
    events: list[ev.Event] = []
    db = open_database(tmp_path_factory.mktemp("gate") / "runs.sqlite")
    run = Run(protocol, subject_id="normal-adult", bench=bench,
              prompter=HeadlessPrompter(answers),
              reference=load_references(protocol.references), subscribers=[RunRecorder(db),
                                                                          events.append])
    run.execute()
    safety = state(**{k.removeprefix("checklist."): v for k, v in checklist.items()})
    overridden = {e.step_id for e in events if isinstance(e, ev.GateOverridden)}
    stimulated = {e.step_id for e in events if isinstance(e, ev.SweepRecorded)}
    completed = {e.step_id: e for e in events if isinstance(e, ev.StepCompleted)}
    gated_somewhere = False
    for step in protocol.steps:
        target = _target(step)
        if target is None:
            continue
        gates = [h for h in decide(target, safety, DATA) if h.action == "gate"]
        if not gates:
            assert step.id not in overridden
            continue
        gated_somewhere = True
        if step.id in overridden:
            assert is_override(override)[0]
            audit = db.execute("SELECT payload_json FROM events WHERE run_id = ? AND kind = "
                               "'GateOverridden'", [run.run_id]).fetchall()
            assert any(step.id in row[0] for row in audit)
        else:
            assert step.id not in stimulated, f"{step.id} stimulated without an override"
            assert completed[step.id].status == "skipped"
            assert completed[step.id].reason.startswith("contraindicated")
        if isinstance(step, StimulateStep) and not is_override(override)[0]:
            assert step.id not in stimulated
    if protocol_path == PROBE and checklist["checklist.pacemaker_or_icd"]:
        assert gated_somewhere
    db.conn.close()


# ---- exhaustive: every shipped protocol × every combination of checklist answers --------

REFUSALS = ("", "yes", "override", "OVERRIDE", "OVERRIDE: ")  # none of these is an override
OVERRIDE_TEXT_OK = "OVERRIDE cardiology cleared it"


def contact_protocols() -> list[Protocol]:
    """Every shipped protocol that touches the subject (bench checks touch a fixture), and
    the probe, whose Erb's point site a pacemaker gates (no shipped protocol has one)."""
    loaded = [load_protocol(path) for path in [*SHIPPED, *BENCH_PROTOCOLS, PROBE]]
    return [protocol for protocol in loaded if any(_target(step) for step in protocol.steps)]


def combinations(protocol: Protocol) -> Iterator[dict[str, Any]]:
    """All checklist answers that can change a decision: each item on or off, the device
    and lymphedema on either side, infection over none, each or all of the muscles the
    protocol needles, cold or warm, early or late after the injury."""
    muscles = sorted({s.muscle for s in protocol.steps if isinstance(s, NeedleStep)})
    infections = ["", *muscles, ", ".join(muscles)] if muscles else ["", "APB"]
    lymphedema = ["none", "left arm", "right arm", "left leg", "right leg"]
    for side, anticoag, device, limb, infected, cold, days in itertools.product(
            ("left", "right"), (False, True), (False, True), lymphedema, infections,
            (33.0, 31.5), (0, 5, 60)):
        yield {"checklist.side": side, "checklist.anticoagulation": anticoag,
               "checklist.pacemaker_or_icd": device, "checklist.lymphedema_limb": limb,
               "checklist.skin_infection_sites": infected,
               "checklist.limb_temperature_c": cold, "checklist.days_since_injury": days}


def required_gates(step: object, answers: dict[str, Any]) -> set[str]:
    """What the issue demands, read from the anatomy tags: no needle in non-compressible
    muscles under anticoagulation, over infected skin or in a lymphedematous limb; no
    stimulation at Erb's point or the neck with a pacemaker or ICD."""
    a = {k.removeprefix("checklist."): v for k, v in answers.items()}
    need = set()
    if isinstance(step, NeedleStep):
        if a["anticoagulation"] and "non_compressible" in DATA.muscle_tags[step.muscle]:
            need.add("anticoag-noncompressible")
        if step.muscle.lower() in {m.strip().lower()
                                   for m in a["skin_infection_sites"].split(",")}:
            need.add("infected-skin")
        if a["lymphedema_limb"] == f"{a['side']} {DATA.muscle_limb[step.muscle]}":
            need.add("lymphedema-limb")
    elif a["pacemaker_or_icd"] and "proximal_to_device" in DATA.site_tags.get(step.site, ()):
        need.add("device-proximal-stimulation")
    return need


def kinds(events: list[ev.Event], step_id: str) -> list[str]:
    return [type(e).__name__ for e in events if getattr(e, "step_id", None) == step_id
            or (isinstance(e, ev.PromptRequested) and e.prompt.id.startswith(f"{step_id}."))]


@pytest.fixture(scope="module")
def bare_bench():
    """A simulated bench with no subject: the checklist is answered from the combination
    alone, and a step that got past a gate would fail loudly."""
    b = open_bench("sim", clock=FastClock(), seed=6)
    yield b
    b.close()


def test_every_protocol_and_every_contraindication_combination(bare_bench) -> None:
    """No gated step starts without an override; every override is announced for the audit
    with its rules and reason; ungated steps are never asked for one. Checked through the
    runner's own step path, also for a run resumed after its checklist."""
    cases = gated = overridden = resumed = 0
    per_protocol: dict[str, int] = {}
    protocols = contact_protocols()
    for protocol in protocols:
        checklist_seq, checklist = next((seq, s) for seq, s in enumerate(protocol.steps)
                                        if isinstance(s, SafetyChecklistStep))
        contact = [(seq, s) for seq, s in enumerate(protocol.steps) if _target(s)]
        per_protocol[protocol.id] = 0
        for answers in combinations(protocol):
            cases += 1
            per_protocol[protocol.id] += 1
            events: list[ev.Event] = []
            prompter = HeadlessPrompter(answers)
            run = Run(protocol, subject_id="gate-probe", bench=bare_bench, prompter=prompter,
                      reference=EMPTY_REFERENCE, subscribers=[events.append])
            run._run_step(checklist_seq, checklist)  # the real checklist step
            stored = json.loads(json.dumps(events[-1].result["answers"]))  # as storage keeps it
            again = Run(protocol, subject_id="gate-probe", bench=bare_bench, prompter=prompter,
                        reference=EMPTY_REFERENCE, subscribers=[events.append],
                        resume=ResumePoint("resumed", frozenset({checklist_seq}),
                                           safety=stored))
            for seq, step in contact:
                hits = decide(_target(step), run._safety, run.safety_data)
                gates = tuple(hit.rule_id for hit in hits if hit.action == "gate")
                assert required_gates(step, answers) <= set(gates), (protocol.id, step.id,
                                                                      answers)
                if not gates:
                    events.clear()
                    assert run._safety_gate(seq, step, "t") is None
                    assert "GateOverridden" not in kinds(events, step.id)
                    assert "PromptRequested" not in kinds(events, step.id)
                    continue
                # each refusal in turn (every one is met thousands of times), then a valid
                # override
                refusal = REFUSALS[(cases + seq) % len(REFUSALS)]
                for text in (refusal, OVERRIDE_TEXT_OK):
                    prompter.answers[f"{step.id}.override"] = text
                    valid, why = is_override(text)
                    events.clear()
                    if valid:  # the gate lets it through, announced for the audit first
                        assert run._safety_gate(seq, step, "t") is None
                        audit = [e for e in events if isinstance(e, ev.GateOverridden)]
                        assert [(e.step_id, e.rules, e.reason) for e in audit] == [
                            (step.id, gates, why)]
                        overridden += 1
                        continue
                    for runner in (run, again):  # fresh, and resumed after the checklist
                        events.clear()
                        runner._run_step(seq, step)  # the whole step path: gate, then run
                        seen = kinds(events, step.id)
                        assert "StepStarted" not in seen and "SweepRecorded" not in seen, (
                            protocol.id, step.id, text, seen)
                        assert "GateOverridden" not in seen
                        done = [e for e in events if isinstance(e, ev.StepCompleted)]
                        assert len(done) == 1 and done[0].status == "skipped"
                        assert done[0].reason.startswith("contraindicated")
                        assert tuple(done[0].result["gated_by"]) == gates
                    gated += 1
                    resumed += 1
    print(f"\nsafety: {len(per_protocol)} protocols × their checklist combinations = "
          f"{cases} cases; {gated} gated step decisions held (each also after a resume), "
          f"{overridden} audited overrides; per protocol: {per_protocol}")
    assert set(per_protocol) >= {p.id for p in protocols if p.path.parent.name != "bench"}
    assert len(per_protocol) >= len(SHIPPED)
    assert cases > 10_000 and gated > 0 and overridden > 0
