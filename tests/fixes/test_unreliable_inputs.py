"""A derived value is never computed from a response the interpretation calls absent.

A sensory velocity from a SNAP that failed acceptability once read 48 m/s from noise and
was judged against the reference as if it were real. The rule is the interpretation's own
(engine.interpret.observations.no_response): any unacceptable SNAP is unreliable; a CMAP is
unreliable only without an onset or above noise (a dispersed CMAP that does not return to
baseline keeps its onset)."""

from __future__ import annotations

import rustcore
from engine.compute import compute, unreliable_inputs
from engine.events import Measurement
from engine.protocol import ComputeStep, load_protocol
from engine.remeasure import recompute_derived
from tests.conftest import ROOT

SURAL = load_protocol(ROOT / "protocols" / "sural_sensory.yaml")
MEDIAN = load_protocol(ROOT / "protocols" / "median_motor.yaml")


def unacceptable(flags: int) -> str:
    return f"waveform not acceptable (flags {flags})"


def compute_step(protocol, step_id: str) -> ComputeStep:  # type: ignore[no-untyped-def]
    step = protocol.step(step_id)
    assert isinstance(step, ComputeStep)
    return step


def test_sensory_velocity_from_an_unacceptable_snap_is_left_out_with_the_reason() -> None:
    rows = [{"step_id": "sural", **vars(Measurement("onset_latency", 2.9, "ms", "calf",
                                                    note=unacceptable(rustcore.FLAG_NO_RETURN)))}]
    unreliable = unreliable_inputs(SURAL, rows)
    assert set(unreliable) == {"sural.onset_latency"}
    result = compute(compute_step(SURAL, "sural-velocity"), SURAL,
                     {"sural.onset_latency": 2.9}, {}, unreliable)
    assert result.value is None
    assert "sural.onset_latency" in result.note and "not acceptable" in result.note
    # the same onset from an acceptable SNAP gives the velocity: 140 mm / 2.9 ms
    reliable = compute(compute_step(SURAL, "sural-velocity"), SURAL,
                       {"sural.onset_latency": 2.9}, {},
                       unreliable_inputs(SURAL, [{**rows[0], "note": ""}]))
    assert reliable.value == round(140 / 2.9, 2)


def test_motor_velocity_follows_the_cmap_rule_of_the_interpretation() -> None:
    step = compute_step(MEDIAN, "forearm_velocity")
    measured = {"wrist.onset_latency": 3.5, "elbow.onset_latency": 7.5}
    inputs = {"forearm_distance": 220.0}

    def velocity(elbow_flags: int) -> float | None:
        rows = [{"step_id": "wrist", "name": "onset_latency", "note": ""},
                {"step_id": "elbow", "name": "onset_latency",
                 "note": unacceptable(elbow_flags)}]
        return compute(step, MEDIAN, measured, inputs, unreliable_inputs(MEDIAN, rows)).value

    assert velocity(rustcore.FLAG_NO_RETURN) == 55.0  # dispersed but with an onset
    assert velocity(rustcore.FLAG_LOW_SNR) is None
    assert velocity(rustcore.FLAG_NO_ONSET | rustcore.FLAG_NO_RETURN) is None


def test_marker_edit_recomputation_applies_the_same_rule() -> None:
    rows = [{"id": 1, "step_id": "sural", "trace_id": 10, "name": "onset_latency",
             "value": 2.9, "unit": "ms", "note": unacceptable(rustcore.FLAG_NO_RETURN)},
            {"id": 2, "step_id": "sural-velocity", "trace_id": None, "name": "sensory_velocity",
             "value": 48.28, "unit": "m/s", "note": "", "reference_id": ""}]
    (revised,) = recompute_derived(SURAL, rows, {}, {})
    assert revised.value is None and "sural.onset_latency" in revised.note
