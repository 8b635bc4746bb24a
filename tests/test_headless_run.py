"""The walking skeleton end to end: a headless median motor study on the simulated bench,
through PyVISA over real sockets, measured in rustcore, stored in a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from instruments.sim.subject_spec import find_subject
from storage.audit import verify_chain
from storage.database import open_database
from storage.queries import get_run, load_trace
from tests.conftest import ROOT

SEED = {"EDXBENCH_SIM_SEED": "1234"}


def subject_truth(name: str) -> dict:
    """The virtual subject's configured values (base subject with its presets applied)."""
    apb = find_subject(name).nerves["median"].recordings["APB"]
    elbow = next(site for site in apb.sites if site.name == "elbow")
    assert elbow.segment is not None
    return {"distal_latency_ms": apb.distal_latency_ms,
            "velocity_m_s": elbow.segment.velocity_m_s,
            "amplitude_mV": apb.cmap_amplitude_mV}


def value(doc: dict, step: str, name: str) -> dict:
    return next(m for m in doc["measurements"] if m["step_id"] == step and m["name"] == name)


@pytest.fixture(scope="module")
def normal_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    from tests.conftest import run_cli

    db_path = tmp_path_factory.mktemp("headless") / "runs.sqlite"
    result = run_cli("run", "median-motor", "--subject", "normal-adult", "--headless",
                     "--json", "--fast", "--db", str(db_path), env=SEED)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout), db_path


def test_recovers_configured_latency_and_velocity(normal_run: tuple[dict, Path]) -> None:
    doc, _ = normal_run
    truth = subject_truth("normal-adult")
    assert doc["schema"] == "edxbench.run/1" and doc["status"] == "completed"
    distal = value(doc, "wrist", "onset_latency")
    velocity = value(doc, "forearm_velocity", "conduction_velocity")
    assert abs(distal["value"] - truth["distal_latency_ms"]) <= 0.1, distal
    assert abs(velocity["value"] - truth["velocity_m_s"]) <= 2.0, velocity
    assert distal["outcome"] == "normal" and distal["upper"] == 4.4
    assert velocity["outcome"] == "normal" and velocity["lower"] == 49
    assert "Preston" in distal["citation"]
    amplitude = value(doc, "wrist", "neg_amplitude")
    assert amplitude["outcome"] == "normal" and amplitude["lower"] == 4.0
    # within 3 % of the configured supramaximal CMAP (a clipped sweep would read low)
    assert abs(amplitude["value"] / truth["amplitude_mV"] - 1) <= 0.03, amplitude


def test_run_is_stored_with_traces_measurements_and_provenance(
        normal_run: tuple[dict, Path]) -> None:
    doc, db_path = normal_run
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db = open_database(db_path)
    run = get_run(db, doc["run_id"])
    assert run is not None and run["status"] == "completed"
    assert [s["status"] for s in run["steps"]] == ["done"] * len(run["steps"])
    finals = [t for t in run["traces"] if t["role"] == "final"]
    assert sorted(t["site"] for t in finals) == ["elbow", "wrist"]
    assert any(t["role"] == "search" for t in run["traces"])
    stored = {(m["step_id"], m["name"]): m["value"] for m in run["measurements"]}
    for m in doc["measurements"]:
        assert stored[(m["step_id"], m["name"])] == pytest.approx(m["value"])
    trace = load_trace(db, finals[0]["id"])
    assert trace is not None and trace.codes.size == 2000 and trace.t0 < 0
    volts = trace.volts()
    assert volts.min() < -1e-3  # a negative-first CMAP of millivolts at the electrodes
    prov = run["provenance"]
    assert prov["protocol_sha256"] == doc["protocol"]["sha256"]
    assert "33522B" in prov["instruments"]["generator"] or prov["instruments"]["generator"]
    assert prov["reference_id"] == "motor-nerve-conduction" and prov["reference_version"]
    assert run["protocol_text"].startswith("# Median motor")
    assert verify_chain(db) == []


def test_audit_chain_detects_an_edited_event(normal_run: tuple[dict, Path],
                                             tmp_path: Path, cli) -> None:
    _, db_path = normal_run
    copy = tmp_path / "copy.sqlite"
    with sqlite3.connect(db_path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    with sqlite3.connect(copy) as conn:
        edited = conn.execute(
            "UPDATE events SET payload_json = replace(payload_json, '\"value\": ', "
            "'\"value\": 1') WHERE kind = 'PromptAnswered' AND payload_json LIKE "
            "'%forearm_distance%'").rowcount
        assert edited == 1
    result = cli("audit", "verify", "--db", str(copy))
    assert result.returncode == 1 and "edited" in result.stdout
    ok = cli("audit", "verify", "--db", str(db_path))
    assert ok.returncode == 0 and "chain intact" in ok.stdout


def test_runs_and_show_list_the_stored_run(normal_run: tuple[dict, Path], cli) -> None:
    doc, db_path = normal_run
    listed = cli("runs", "--json", "--db", str(db_path))
    assert listed.returncode == 0
    assert doc["run_id"] in [row["id"] for row in json.loads(listed.stdout)]
    shown = cli("show", doc["run_id"][:8], "--db", str(db_path))
    assert shown.returncode == 0 and "conduction_velocity" in shown.stdout


def test_abnormal_subject_is_flagged(cli, db_path: Path) -> None:
    result = cli("run", "median-motor", "--subject", "cts-moderate", "--headless", "--json",
                 "--fast", "--db", str(db_path), env=SEED)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    truth = subject_truth("cts-moderate")
    distal = value(doc, "wrist", "onset_latency")
    assert abs(distal["value"] - truth["distal_latency_ms"]) <= 0.1
    assert distal["outcome"] == "abnormal"
    assert doc["abnormal_count"] >= 1


def test_unknown_subject_lists_the_known_ones(cli, db_path: Path) -> None:
    result = cli("run", "median-motor", "--subject", "nobody", "--headless", "--fast",
                 "--db", str(db_path))
    assert result.returncode == 2
    assert "unknown subject 'nobody'" in result.stderr and "normal-adult" in result.stderr
    assert "Traceback" not in result.stderr


def test_answers_file_overrides_defaults(cli, db_path: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("forearm_distance: 250\n", encoding="utf-8")
    result = cli("run", "median-motor", "--subject", "normal-adult", "--headless", "--json",
                 "--fast", "--db", str(db_path), "--answers", str(answers), env=SEED)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    db = open_database(db_path)
    run = get_run(db, doc["run_id"])
    assert run is not None
    distance = next(s for s in run["steps"] if s["step_id"] == "forearm_distance")
    assert distance["result"]["value"] == 250.0


def test_unreachable_bench_names_the_instrument(cli, db_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "bench.toml"
    text = (ROOT / "data" / "bench.toml").read_text(encoding="utf-8")
    # loopback port 9 (discard) has no listener here: a real profile whose bench is off
    text = text.replace("192.168.0.20::5025", "127.0.0.1::9").replace("192.168.0.21::5025",
                                                                       "127.0.0.1::9")
    config.write_text(text, encoding="utf-8")
    result = cli("run", "median-motor", "--subject", "S-0001", "--headless",
                 "--db", str(db_path), "--bench", "lab-example", "--bench-config", str(config))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "generator (TCPIP0::127.0.0.1::9::SOCKET)" in result.stderr
