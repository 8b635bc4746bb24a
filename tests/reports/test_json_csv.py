"""JSON and CSV exports of a real headless run equal what the database holds."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import stat
from pathlib import Path

import pytest

from edxbench.reports import ExportError, export_run, render
from edxbench.reports.csvfmt import COLUMNS
from edxbench.reports.jsonfmt import SCHEMA
from storage.database import open_database
from storage.queries import get_run, load_trace
from tests.reports.conftest import StoredRun


def test_json_document_equals_the_database(normal_run: StoredRun, tmp_path: Path) -> None:
    db = open_database(normal_run.db_path)
    path = export_run(db, normal_run.run_id, "json", tmp_path / "run.json")
    doc = json.loads(path.read_text("utf-8"))
    run = get_run(db, normal_run.run_id)
    assert run is not None
    assert doc["schema"] == SCHEMA == "edxbench.export/1"
    for key, value in doc["run"].items():
        assert value == run[key], key
    assert doc["run"]["status"] == "completed" and doc["run"]["subject_id"] == "normal-adult"
    protocol = doc["protocol"]
    assert protocol["id"] == "median-motor" and protocol["text"] == run["protocol_text"]
    assert protocol["sha256"] == hashlib.sha256(run["protocol_text"].encode()).hexdigest()
    assert protocol["sha256"] == normal_run.doc["protocol"]["sha256"]
    assert doc["reference"] == {"id": "motor-nerve-conduction",
                                "version": run["reference_version"],
                                "sha256": run["provenance"]["reference_sha256"]}
    assert doc["provenance"] == run["provenance"]
    identities = doc["instruments"]
    assert identities == run["provenance"]["instruments"]
    assert "33522B" in identities["generator"] and "DSO-X" in identities["scope"]
    assert [s["step_id"] for s in doc["steps"]] == [s["step_id"] for s in run["steps"]]
    assert doc["steps"][3]["result"] == run["steps"][3]["result"]
    assert len(doc["measurements"]) == len(run["measurements"]) == 13
    for exported, stored in zip(doc["measurements"], run["measurements"], strict=True):
        assert exported == {k: stored[k] for k in exported}
    distal = next(m for m in doc["measurements"] if m["name"] == "onset_latency"
                  and m["step_id"] == "wrist")
    assert distal["upper"] == 4.4 and distal["outcome"] == "normal"
    assert "Preston" in distal["citation"] and distal["reference_id"]
    assert [t["id"] for t in doc["traces"]] == [t["id"] for t in run["traces"]]
    for meta in doc["traces"]:
        trace = load_trace(db, meta["id"])
        assert trace is not None
        assert meta["sample_rate_hz"] == trace.sample_rate and meta["t0_s"] == trace.t0
        assert meta["n_samples"] == trace.codes.size and meta["dtype"] == trace.codes.dtype.str
        assert meta["scale_v_per_code"] == trace.scale and meta["measures"] == trace.measures
    assert any("Compare with reference limits" in n["text"] for n in doc["notices"])


def test_json_has_no_nan(normal_run: StoredRun) -> None:
    text = render(open_database(normal_run.db_path), normal_run.run_id, "json").decode()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def test_csv_has_one_row_per_measurement(normal_run: StoredRun, tmp_path: Path) -> None:
    db = open_database(normal_run.db_path)
    path = export_run(db, normal_run.run_id, "csv", tmp_path / "m.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8"), newline="")))
    run = get_run(db, normal_run.run_id)
    assert run is not None
    assert tuple(rows[0].keys()) == COLUMNS
    assert len(rows) == len(run["measurements"])
    for row, m in zip(rows, run["measurements"], strict=True):
        assert row["run_id"] == normal_run.run_id
        for key in ("step_id", "site", "name", "unit", "outcome", "reference_id", "citation"):
            assert row[key] == m[key], key
        for key in ("value", "lower", "upper"):
            assert (float(row[key]) if row[key] else None) == m[key], key


def test_csv_neutralises_spreadsheet_formulas(hostile_run: StoredRun) -> None:
    from edxbench.reports.csvfmt import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell(-1.5) == "-1.5"
    assert _cell(None) == ""


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json", "edf"])
def test_every_export_is_private(normal_run: StoredRun, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    target.write_text("old")
    target.chmod(0o644)
    path = export_run(open_database(normal_run.db_path), normal_run.run_id, fmt, target)
    assert path == target and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() != b"old"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary left


def test_unknown_run_and_format_are_export_errors(normal_run: StoredRun,
                                                  tmp_path: Path) -> None:
    db = open_database(normal_run.db_path)
    with pytest.raises(ExportError, match="no run"):
        export_run(db, "not-a-run", "json", tmp_path / "x.json")
    with pytest.raises(ExportError, match="unknown export format"):
        export_run(db, normal_run.run_id, "pdf", tmp_path / "x.pdf")
    with pytest.raises(ExportError, match="cannot write"):
        export_run(db, normal_run.run_id, "json", Path("/proc/no/x.json"))


def test_interpretation_in_json_and_findings_csv(abnormal_run: StoredRun) -> None:
    from storage.queries import get_interpretation

    db = open_database(abnormal_run.db_path)
    stored = get_interpretation(db, abnormal_run.run_id)
    assert stored is not None  # the engine interpreted the run as it ended
    doc = json.loads(render(db, abnormal_run.run_id, "json"))
    assert doc["interpretation"]["impression"] == stored["impression"]
    assert doc["interpretation"]["criteria"] == stored["criteria"]
    rows = list(csv.DictReader(io.StringIO(render(db, abnormal_run.run_id,
                                                  "findings").decode("utf-8"))))
    kinds = {row["kind"]: row for row in rows}
    assert kinds["localisation"]["title"].startswith(stored["localisation"]["level"])
    assert kinds["impression"]["title"] == stored["impression"]
    fired = [row["rule"] for row in rows if row["kind"] == "criterion"]
    assert fired == [f["rule"] for f in stored["fired"]]
