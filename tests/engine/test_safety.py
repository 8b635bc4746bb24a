"""Contraindications gate steps; only a typed, audited override lets a gated step run."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import events as ev
from engine.prompts import HeadlessPrompter
from engine.protocol import ProtocolError, StimulateStep, load_protocol
from engine.reference import load_references
from engine.runner import Run, _target
from engine.safety import SafetyState, StepTarget, decide, is_override, load_safety
from instruments.bench import open_bench
from instruments.clock import FastClock
from storage.database import open_database
from storage.recorder import RunRecorder
from tests.conftest import ROOT

DATA = load_safety()
SHIPPED = sorted((ROOT / "protocols").glob("*.yaml"))
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
    b = open_bench("sim", clock=FastClock(), seed=5)
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


@settings(max_examples=25, deadline=None,
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
