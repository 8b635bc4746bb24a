"""Report sections come from the data: name prefixes, the step's `measure`, the study kind."""

from __future__ import annotations

from edxbench.reports.model import RunData
from edxbench.reports.tables import build_tables


def m(step_id: str, name: str, site: str, trace_id: int | None = 1, unit: str = "ms") -> dict:
    return {"step_id": step_id, "name": name, "site": site, "trace_id": trace_id,
            "value": 1.0, "unit": unit, "lower": None, "upper": None, "outcome": "unflagged",
            "reference_id": "", "citation": "", "note": ""}


def test_sections_from_prefixes_measure_and_compute_operands() -> None:
    protocol = {"study": {"kind": "motor"}, "steps": {"main": [
        {"id": "wrist", "kind": "stimulate"},
        {"id": "digit", "kind": "stimulate", "measure": "snap"},
        {"id": "palm", "kind": "stimulate", "measure": "snap"},
        {"id": "sv", "kind": "compute", "quantity": "conduction_velocity", "distal": "digit",
         "proximal": "palm"},
        {"id": "fw", "kind": "stimulate"},
    ]}}
    steps = [{"step_id": s["id"], "kind": s["kind"]} for s in protocol["steps"]["main"]]
    measurements = [
        m("wrist", "neg_area", "wrist", unit="mV·ms"), m("wrist", "onset_latency", "wrist"),
        m("digit", "onset_latency", "digit II"), m("palm", "neg_amplitude", "palm", unit="µV"),
        m("sv", "conduction_velocity", "palm-digit", trace_id=None, unit="m/s"),
        m("fw", "f_min_latency", "wrist"), m("fw", "f_persistence", "wrist", unit="%"),
    ]
    data = RunData(run={"id": "r", "steps": steps, "measurements": measurements}, traces=[],
                   notices=[], protocol=protocol)
    tables = {t.key: t for t in build_tables(data)}
    assert list(tables) == ["motor", "sensory", "fwave"]
    assert [name for name, _ in tables["motor"].columns] == ["onset_latency", "neg_area"]
    assert [site for site, _ in tables["sensory"].sites] == ["digit II", "palm"]
    assert [s["site"] for s in tables["sensory"].segments] == ["palm-digit"]
    assert [name for name, _ in tables["fwave"].columns] == ["f_min_latency", "f_persistence"]
    assert tables["fwave"].title == "F-waves"


def test_study_kind_decides_when_a_step_says_nothing() -> None:
    protocol = {"study": {"kind": "sensory"}, "steps": {"main": [{"id": "a",
                                                                  "kind": "stimulate"}]}}
    data = RunData(run={"id": "r", "steps": [{"step_id": "a", "kind": "stimulate"}],
                        "measurements": [m("a", "onset_latency", "wrist")]},
                   traces=[], notices=[], protocol=protocol)
    assert [t.key for t in build_tables(data)] == ["sensory"]


def test_composite_rows_name_their_nerve_and_needle_muscles_are_rows() -> None:
    expanded = {
        "mm-wrist": {"kind": "stimulate", "measure": "cmap", "nerve": "median",
                     "recording": "APB"},
        "um-wrist": {"kind": "stimulate", "measure": "cmap", "nerve": "ulnar",
                     "recording": "ADM"},
        "um-slowing": {"kind": "compute", "quantity": "difference", "nerve": "",
                       "terms": ("um-a.conduction_velocity", "um-b.conduction_velocity")},
        "um-a": {"kind": "compute", "quantity": "conduction_velocity", "distal": "um-wrist",
                 "nerve": "ulnar", "recording": "ADM"},
        "cx-deltoid": {"kind": "needle", "muscle": "deltoid"},
    }
    steps = [{"step_id": k, "kind": v["kind"]} for k, v in expanded.items()]
    measurements = [
        m("mm-wrist", "onset_latency", "wrist"), m("um-wrist", "onset_latency", "wrist"),
        m("um-slowing", "difference", "elbow-slowing", trace_id=None, unit="m/s"),
        m("cx-deltoid", "muap_duration", "deltoid", trace_id=None),
        m("cx-deltoid", "fibrillation_rate", "deltoid", trace_id=None, unit="/s"),
    ]
    data = RunData(run={"id": "r", "steps": steps, "measurements": measurements}, traces=[],
                   notices=[], protocol={"study": {"kind": "needle"}}, expanded_steps=expanded)
    tables = {t.key: t for t in build_tables(data)}
    assert list(tables) == ["motor", "needle"]
    assert [site for site, _ in tables["motor"].sites] == ["median APB · wrist",
                                                           "ulnar ADM · wrist"]
    assert [s["site"] for s in tables["motor"].segments] == ["ulnar ADM · elbow-slowing"]
    assert [site for site, _ in tables["needle"].sites] == ["deltoid"]
    assert [name for name, _ in tables["needle"].columns] == ["fibrillation_rate",
                                                              "muap_duration"]
