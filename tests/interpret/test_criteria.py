"""The criteria evaluator on measurement sets made by hand, read through the real library
protocols (so each value has the nerve, recording and kind a run would give it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.catalog import resolve_protocol
from engine.interpret import interpret
from engine.interpret.criteria import CriteriaError, load_rule_set, load_rule_sets
from engine.interpret.observations import build_observations, no_response
from engine.protocol import load_protocol
from engine.reference import load_reference

Row = dict[str, Any]


def m(step: str, name: str, value: float | None, unit: str, lower: float | None = None,
      upper: float | None = None, note: str = "", site: str = "") -> Row:
    return {"step_id": step, "name": name, "value": value, "unit": unit, "lower": lower,
            "upper": upper, "note": note, "site": site, "outcome": "unflagged"}


def run(protocol_id: str, rows: list[Row], age: float | None = 50) -> dict[str, Any]:
    return interpret(load_protocol(resolve_protocol(protocol_id)), rows, {"age": age})


def fired(doc: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in doc["fired"] if not f["muscle"]}


def cts_rows(dml: float, d2_peak: float, d2_amp: float | None, csi: float,
             apb: float = 8.0) -> list[Row]:
    low_snr = "waveform not acceptable (flags 1)" if d2_amp is None else ""
    return [m("mm-wrist", "onset_latency", dml, "ms", upper=4.4, site="wrist"),
            m("mm-wrist", "neg_amplitude", apb, "mV", lower=4.0, site="wrist"),
            m("ms-d2", "peak_latency", d2_peak, "ms", upper=3.5, note=low_snr),
            m("ms-d2", "amplitude", d2_amp if d2_amp is not None else 4.1, "µV", lower=20,
              note=low_snr or "reference value unconfirmed: not flagged"),
            m("us-d5", "peak_latency", 2.7, "ms", upper=3.1),
            m("csi", "sum", csi, "ms", upper=1.0, site="csi")]


@pytest.mark.parametrize(("dml", "d2_peak", "d2_amp", "csi", "grade", "nature"), [
    (3.9, 4.1, 30.0, 1.8, "bland-2", "demyelinating"),
    (5.5, 4.6, 18.0, 3.3, "bland-3", "demyelinating"),
    (6.2, 4.9, None, 3.9, "bland-4", "mixed"),   # absent SNAP: axon loss too
    (7.1, 5.0, 12.0, 4.0, "bland-5", "demyelinating"),
])
def test_carpal_tunnel_grades(dml: float, d2_peak: float, d2_amp: float | None, csi: float,
                              grade: str, nature: str) -> None:
    doc = run("carpal-tunnel", cts_rows(dml, d2_peak, d2_amp, csi))
    bland = {r for r in fired(doc) if r.startswith("bland-")}
    assert bland == {grade}
    assert doc["localisation"] == {"level": "nerve", "site": "median at the wrist (carpal tunnel)"}
    assert doc["nature"] == nature
    assert doc["impression"].endswith("Requires confirmation by the reader.")
    padua = [f for f in doc["fired"] if f["rule"].startswith("padua-")]
    assert padua and all(f["unconfirmed"] for f in padua)  # shown, marked, not concluded


def test_normal_carpal_tunnel_values_localise_nothing() -> None:
    doc = run("carpal-tunnel", cts_rows(3.6, 3.0, 40.0, 0.4))
    assert doc["localisation"]["level"] == "none" and not fired(doc)
    assert doc["nature"] == "none"


def test_csi_at_the_limit_fires_and_just_below_does_not() -> None:
    at = run("carpal-tunnel", cts_rows(3.6, 3.0, 40.0, 1.0))
    below = run("carpal-tunnel", cts_rows(3.6, 3.0, 40.0, 0.99))
    assert "cts-csi" in fired(at) and "cts-csi" not in fired(below)
    assert any("csi sum = 1 ms (>= 1)" in e for f in at["fired"] for e in f["evidence"])


def needle(step: str, fibs: float, duration: float = 10.0) -> list[Row]:
    return [m(step, "fibrillation_rate", fibs, "/s"), m(step, "positive_sharp_wave_rate",
                                                       fibs, "/s"),
            m(step, "muap_duration", duration, "ms")]


def cervical(denervated: set[str], d5_amp: float, paraspinal: float) -> list[Row]:
    steps = {"cx-deltoid": "deltoid", "cx-biceps": "biceps", "cx-triceps": "triceps",
             "cx-pronator-teres": "pronator_teres", "cx-fdi": "FDI", "apb": "APB",
             "eip": "EIP"}
    unconfirmed = "reference value unconfirmed: not flagged"  # as the engine notes it
    rows = [m("ms-d2", "amplitude", 35.0, "µV", lower=20, note=unconfirmed),
            m("us-d5", "amplitude", d5_amp, "µV", lower=17, note=unconfirmed),
            m("rs-snuffbox", "amplitude", 30.0, "µV", lower=15, note=unconfirmed)]
    for step, muscle in steps.items():
        rows += needle(step, 5.0 if muscle in denervated else 0.0)
    return rows + needle("cx-cervical-paraspinals", paraspinal)


def test_c6_pattern_is_a_root_lesion() -> None:
    doc = run("cervical-radiculopathy-workup",
              cervical({"deltoid", "biceps", "pronator_teres", "triceps"}, 30.0, 2.0))
    assert doc["localisation"] == {"level": "root", "site": "C6"}
    assert doc["nature"] == "axonal"
    assert {"radiculopathy-myotomal", "radiculopathy-paraspinal-denervation"} <= fired(doc)


def test_lower_trunk_pattern_with_low_ulnar_snap_is_plexus_not_root() -> None:
    doc = run("cervical-radiculopathy-workup", cervical({"APB", "FDI", "EIP"}, 7.0, 0.0))
    assert doc["localisation"] == {"level": "plexus", "site": "lower trunk"}
    assert "radiculopathy-myotomal" not in fired(doc)
    plexus = next(f for f in doc["fired"] if f["rule"] == "plexopathy-element")
    assert plexus["limits_unconfirmed"]  # the SNAP limit is marked unconfirmed: said so
    assert "unconfirmed" in doc["impression"]


def test_same_muscles_with_normal_snap_and_paraspinals_point_to_the_root() -> None:
    doc = run("cervical-radiculopathy-workup", cervical({"APB", "FDI", "EIP"}, 30.0, 2.0))
    assert doc["localisation"] == {"level": "root", "site": "C8"}


def test_one_nerve_is_not_a_root_lesion() -> None:
    doc = run("cervical-radiculopathy-workup", cervical({"APB"}, 30.0, 0.0))
    assert doc["localisation"]["level"] == "none"
    assert doc["muscles"]["APB"] == ["denervation"]


def rns(decrement: float, increment: float, cmap: float) -> list[Row]:
    return [m("um-wrist", "neg_amplitude", cmap, "mV", lower=6.0, site="wrist"),
            m("rns", "rns_decrement_4th", decrement, "%", upper=10),
            m("rns", "rns_post_exercise_increment", increment, "%", upper=60)]


@pytest.mark.parametrize(("decrement", "increment", "cmap", "site"), [
    (25.0, 5.0, 10.0, "postsynaptic"), (15.0, 170.0, 3.0, "presynaptic"),
    (4.0, 8.0, 10.0, ""), (12.0, 170.0, 10.0, "postsynaptic")])  # no low CMAP: not LEMS
def test_nmj(decrement: float, increment: float, cmap: float, site: str) -> None:
    doc = run("nmj-workup", rns(decrement, increment, cmap))
    assert doc["localisation"] == ({"level": "nmj", "site": site} if site
                                   else {"level": "none", "site": ""})


def test_age_bands_choose_the_sural_limit() -> None:
    table = load_reference("sensory-nerve-conduction")
    find = {age: table.with_age(age).find(nerve="sural", recording="ankle",
                                          quantity="amplitude") for age in (45, 65, 72, 80)}
    assert find[45] is None  # edx.md gives no limit below 60
    assert (find[65].lower, find[72].lower, find[80].lower) == (3, 1, 0)
    assert table.find(nerve="sural", recording="ankle", quantity="amplitude") is None


def test_absent_sural_counts_only_where_absence_is_abnormal() -> None:
    rows = [m("su-sural", "amplitude", 6.0, "µV", note="waveform not acceptable (flags 1)"),
            m("ms-d2", "amplitude", 30.0, "µV", lower=20)]
    assert "pn-length-dependent" in fired(run("polyneuropathy-screen", rows, age=66))
    assert "pn-sural-low" not in fired(run("polyneuropathy-screen", rows, age=80))
    assert "pn-sural-low" not in fired(run("polyneuropathy-screen", rows, age=45))


def test_demyelinating_features_outrank_length_dependence() -> None:
    rows = [m("mm-wrist", "onset_latency", 7.0, "ms", upper=4.4, site="wrist"),
            m("mm-wrist", "neg_amplitude", 6.0, "mV", lower=4.0, site="wrist"),
            m("mm-elbow", "neg_amplitude", 2.0, "mV", site="elbow"),
            m("mm-forearm_velocity", "conduction_velocity", 30.0, "m/s", lower=49),
            m("um-wrist", "onset_latency", 5.2, "ms", upper=3.3, site="wrist"),
            m("um-wrist", "neg_amplitude", 7.0, "mV", lower=6.0, site="wrist"),
            m("um-above-elbow", "neg_amplitude", 3.0, "mV", site="above-elbow"),
            m("su-sural", "amplitude", 1.0, "µV")]
    doc = run("polyneuropathy-screen", rows, age=66)
    assert {"pn-demyelinating", "efns-definite", "efns-i-a", "efns-i-e"} <= fired(doc)
    assert doc["localisation"]["level"] == "polyneuropathy" and doc["nature"] == "demyelinating"
    assert doc["block"] is True
    assert "pn-length-dependent" not in fired(doc)


def test_cold_limb_is_a_caveat() -> None:
    doc = interpret(load_protocol(resolve_protocol("carpal-tunnel")), cts_rows(
        5.5, 4.6, 18.0, 3.3), {"age": 50, "limb_temperature_c": 30.5})
    assert any("32 °C" in c for c in doc["caveats"]) and "Caution" in doc["impression"]


def test_no_response_reads_the_engine_note() -> None:
    assert no_response("waveform not acceptable (flags 1)")
    assert not no_response("waveform not acceptable (flags 4)")  # CMAP: amplitude stands
    assert no_response("waveform not acceptable (flags 4)", sensory=True)  # SNAP: unreliable
    assert not no_response("clipped: the response exceeds the sweep's range")
    rows = [m("ms-d2", "amplitude", 9.0, "µV", note="waveform not acceptable (flags 17)")]
    protocol = load_protocol(resolve_protocol("carpal-tunnel"))
    assert build_observations(protocol, rows)[0].value is None


def test_every_shipped_rule_set_loads_with_unique_ids_and_sources() -> None:
    sets = load_rule_sets()
    ids = [r.id for rs in sets for r in rs.rules]
    assert len(ids) == len(set(ids)) and len(sets) >= 10
    assert all(r.citation for rs in sets for r in rs.rules)


@pytest.mark.parametrize(("body", "message"), [
    ("  - {id: r1, title: t, source: s, when: {measure: {nerve: x}, test: {op: '=', "
     "value: 1}}}", "test op must be one of"),
    ("  - {id: r1, title: t, source: nope, when: {fired: r2}}", "unknown source 'nope'"),
    ("  - {id: r1, title: t, source: s, when: {weather: rainy}}", "unknown condition"),
    ("  - {id: r1, title: t, source: s, when: {fired: r2}, conclude: {mood: calm}}",
     "'conclude' accepts only"),
])
def test_bad_rule_files_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("schema: 1\nid: bad\nversion: '1'\nsources:\n  s: {citation: c, grade: "
                    f"primary}}\nrules:\n{body}\n", encoding="utf-8")
    with pytest.raises(CriteriaError) as caught:
        load_rule_set(path)
    assert f"{path}:7:" in str(caught.value) and message in str(caught.value)


def test_side_to_side_differences_use_their_own_limits() -> None:
    from engine.interpret.sides import compare_sides

    protocol = load_protocol(resolve_protocol("ulnar-f-waves"))
    right = build_observations(protocol, [
        m("m-wave", "onset_latency", 3.0, "ms", site="wrist"),
        m("f-waves", "f_min_latency", 27.0, "ms", site="wrist")])
    left = build_observations(protocol, [
        m("m-wave", "onset_latency", 3.8, "ms", site="wrist"),
        m("f-waves", "f_min_latency", 28.5, "ms", site="wrist")])
    found = {c["name"]: (c["difference"], c["upper"], c["outcome"])
             for c in compare_sides(right, left)}
    assert found == {"onset_latency": (0.8, 0.6, "abnormal"),
                     "f_min_latency": (1.5, 2.5, "normal")}
