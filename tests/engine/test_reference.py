"""Reference limits apply only when the technique matches, and carry their citation."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.reference import ReferenceError, flagged, load_reference

TABLE = load_reference("motor-nerve-conduction")


def test_median_limits_from_the_cited_table() -> None:
    dl = TABLE.find(nerve="median", recording="APB", quantity="onset_latency",
                    site_role="distal", distance_mm=70)
    amp = TABLE.find(nerve="median", recording="APB", quantity="neg_amplitude",
                     site_role="distal", distance_mm=70)
    cv = TABLE.find(nerve="median", recording="APB", quantity="conduction_velocity",
                    segment="forearm")
    assert dl is not None and dl.upper == 4.4
    assert amp is not None and amp.lower == 4.0
    assert cv is not None and cv.lower == 49
    assert "Preston" in dl.citation


def test_other_technique_is_not_flagged() -> None:
    entry = TABLE.find(nerve="median", recording="APB", quantity="onset_latency",
                       site_role="distal", distance_mm=80)
    assert entry is None
    m = flagged("onset_latency", 5.0, "ms", "wrist", entry)
    assert m.outcome == "unflagged"
    proximal = TABLE.find(nerve="median", recording="APB", quantity="onset_latency",
                          site_role="proximal", distance_mm=None)
    assert proximal is None


def test_outcomes() -> None:
    dl = TABLE.find(nerve="median", recording="APB", quantity="onset_latency",
                    site_role="distal", distance_mm=70)
    assert flagged("onset_latency", 3.6, "ms", "wrist", dl).outcome == "normal"
    assert flagged("onset_latency", 4.41, "ms", "wrist", dl).outcome == "abnormal"
    assert flagged("onset_latency", None, "ms", "wrist", dl).outcome == "unflagged"
    mismatch = flagged("onset_latency", 3.6, "s", "wrist", dl)
    assert mismatch.outcome == "unflagged" and "unit" in mismatch.note


def test_bad_reference_file_is_located(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("schema: 1\nid: r\nversion: 1\nsources:\n  s: {citation: x, grade: primary}\n"
                    "entries:\n  - {id: e, nerve: median, recording: APB, quantity: q, unit: ms,"
                    " source: nobody, upper: 1}\n", encoding="utf-8")
    with pytest.raises(ReferenceError, match=r"r\.yaml:7:.*unknown source"):
        load_reference("r", path)
