"""The H-reflex ramp and RNS trains after exercise, on the simulated bench (trains played
100× faster, bench clock virtual), and how the protocol file states them."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import events as ev
from engine.prompts import HeadlessPrompter
from engine.protocol import ProtocolError, SeriesStep, load_protocol
from engine.reference import load_references
from engine.runner import Run
from instruments.bench import open_bench
from instruments.clock import FastClock
from instruments.sim.subject_spec import find_subject
from tests.conftest import ROOT

PROTOCOLS = ROOT / "protocols"


@pytest.fixture(scope="module")
def bench():
    b = open_bench("sim", clock=FastClock(), seed=21, sim_time_scale=100.0)
    yield b
    b.close()


def measured(bench, path: Path, subject: str, step: str) -> dict[str, ev.Measurement]:
    bench.connect_subject(subject)
    protocol = load_protocol(path)
    done: list[ev.StepCompleted] = []
    result = Run(protocol, subject_id=subject, bench=bench, prompter=HeadlessPrompter({}),
                 reference=load_references(protocol.references),
                 subscribers=[lambda e: done.append(e) if isinstance(e, ev.StepCompleted)
                              else None]).execute()
    assert result.status == "completed", result.reason
    return {m.name: m for e in done if e.step_id == step for m in e.measurements}


def test_h_reflex_latency_follows_the_subject(bench) -> None:
    path = PROTOCOLS / "h_reflex.yaml"
    truth = {name: find_subject(name).recording("tibial", "soleus").h_reflex
             for name in ("normal-adult", "s1-radiculopathy")}
    normal = measured(bench, path, "normal-adult", "ramp")
    s1 = measured(bench, path, "s1-radiculopathy", "ramp")
    assert normal["h_latency"].value == pytest.approx(truth["normal-adult"].latency_ms, abs=0.5)
    delay = truth["s1-radiculopathy"].latency_ms - truth["normal-adult"].latency_ms
    assert s1["h_latency"].value - normal["h_latency"].value == pytest.approx(delay, abs=0.7)
    assert s1["h_max_amplitude"].value < 0.6 * normal["h_max_amplitude"].value
    assert 0 < normal["h_m_ratio"].value < 100 and normal["h_threshold"].value <= 10
    assert normal["m_max_amplitude"].value > normal["h_max_amplitude"].value
    # the H-reflex is lost in both polyneuropathies; CIDP's long, dispersed M-wave reaches
    # into the H window and must not be taken for an H-reflex
    for subject, note in (("axonal-polyneuropathy", "no H-reflex"), ("cidp", "M-wave tail")):
        lost = measured(bench, path, subject, "ramp")
        assert lost["h_latency"].value is None and note in lost["h_latency"].note, subject
        assert lost["m_max_amplitude"].value is not None


def test_rns_trains_after_exercise_show_facilitation_and_exhaustion(bench) -> None:
    path = PROTOCOLS / "nmj_workup.yaml"
    mg = measured(bench, path, "myasthenia-gravis", "rns")
    assert mg["rns_decrement_4th"].outcome == "abnormal"
    # repaired right after exercise, worse 1-3 min later (edx.md §3)
    assert mg["rns_post_exercise_decrement_4th"].value < mg["rns_decrement_4th"].value
    assert mg["rns_exhaustion_decrement_4th"].value > mg["rns_decrement_4th"].value
    assert mg["rns_exhaustion_decrement_4th"].value == max(
        mg[f"rns_decrement_4th_{t}s"].value for t in (60, 120, 180))
    lems = measured(bench, path, "lambert-eaton", "rns")
    assert lems["rns_post_exercise_increment"].value > 100
    assert lems["rns_post_exercise_increment"].outcome == "abnormal"
    normal = measured(bench, path, "normal-adult", "rns")
    for name in ("rns_decrement_4th", "rns_post_exercise_decrement_4th",
                 "rns_exhaustion_decrement_4th"):
        assert abs(normal[name].value) < 5, name


def test_an_included_series_keeps_its_current_source() -> None:
    steps = {s.id: s for s in load_protocol(PROTOCOLS / "polyneuropathy_screen.yaml").steps}
    f_waves = steps["tf-f-waves"]
    assert isinstance(f_waves, SeriesStep) and f_waves.current_from == "tf-m-wave"


H_STEP = """schema: 1
id: probe
title: Probe
study: {nerve: tibial, kind: h-reflex}
steps:
  setup:
    - {id: checklist, kind: safety_checklist, title: Checklist}
  main:
    - id: m
      kind: stimulate
      title: M
      nerve: tibial
      site: popliteal-fossa
      recording: soleus
      fixed_mA: 20
      sweep: {window_ms: 60}
    - id: ramp
      kind: series
      title: Ramp
      nerve: tibial
      site: popliteal-fossa
      recording: soleus
      sweep: {window_ms: 60}
"""


@pytest.mark.parametrize(("fields", "message", "where"), [
    ("      mode: h_reflex\n      count: 5\n", "needs 'ramp_mA: [start, end]'", "- id: ramp"),
    ("      mode: h_reflex\n      ramp_mA: [1, 30]\n      fixed_mA: 10\n",
     "no current_from/fixed_mA", "- id: ramp"),
    ("      mode: h_reflex\n      ramp_mA: [30, 1]\n", "0 < start < end", "- id: ramp"),
    ("      mode: f_wave\n      current_from: m\n      ramp_mA: [1, 30]\n",
     "'ramp_mA' applies only to mode h_reflex", "ramp_mA:"),
    ("      mode: f_wave\n      current_from: m\n      repeat_after_s: [60]\n",
     "(rns only)", "repeat_after_s:"),
    ("      mode: rns\n      current_from: m\n      repeat_after_s: [120, 60]\n",
     "must list increasing times", "repeat_after_s:"),
])
def test_series_mistakes_name_their_line(tmp_path: Path, fields: str, message: str,
                                         where: str) -> None:
    text = H_STEP + fields
    path = tmp_path / "probe.yaml"
    path.write_text(text)
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    assert message in str(caught.value)
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if where in row)
    assert str(caught.value).startswith(f"{path}:{line}:")
