"""Bench checks end to end on the simulated bench: PyVISA over loopback sockets to the
sim process, the fixture wired through the subject link, runs stored in a real SQLite file.

The healthy sim passes every check; each miscalibration injected into the sim fixture
fails its own check (and only that one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edxbench.benchcheck import (
    FIXTURE_SUBJECT,
    execute_bench_check,
    open_bench_check,
    run_bench_check,
)
from edxbench.cli import main
from edxbench.headless import run_headless
from engine import events as ev
from engine.paths import protocols_dir
from instruments.fixture_link import miscalibrate
from storage.database import open_database
from storage.queries import get_run, latest_bench_check, list_runs, run_notices

BENCH = protocols_dir() / "bench"


@pytest.fixture(autouse=True)
def seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDXBENCH_SIM_SEED", "4242")


@pytest.fixture(scope="module")
def full_check(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, list]:
    """One full `bench-check` run on the healthy sim (module-wide: it is the slow part)."""
    db_path = tmp_path_factory.mktemp("bench") / "runs.sqlite"
    seen: list[ev.Event] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDXBENCH_SIM_SEED", "4242")
        result = run_bench_check("sim", db_path=db_path, fast=True, subscribers=[seen.append])
    return db_path, result, seen


def measured(summary: dict, step_id: str, name: str) -> dict:
    check = next(c for c in summary["checks"] if c["step_id"] == step_id)
    return next(m for m in check["measurements"] if m["name"] == name)


def test_healthy_sim_passes_every_check_near_its_nominal(full_check) -> None:
    _, result, _ = full_check
    assert result.status == "completed" and result.outcome == "pass", result.summary
    summary = result.summary
    assert [c["check"] for c in summary["checks"]] == [
        "stimulator_load", "stimulator_load", "amplifier_gain", "noise_floor", "latency",
        "latency", "mains"]
    assert all(c["outcome"] == "pass" for c in summary["checks"])
    # the values are measured, not echoed: close to the truth, each within its quantisation
    assert measured(summary, "stimulator-load-routine", "pulse_current")["value"] == \
        pytest.approx(10.0, abs=0.05)
    assert measured(summary, "stimulator-load-long", "pulse_width")["value"] == \
        pytest.approx(0.5, abs=0.002)
    assert measured(summary, "amplifier-gain", "amplifier_gain")["value"] == \
        pytest.approx(1000.0, rel=0.005)
    assert measured(summary, "timing-delay-long", "onset_latency")["value"] == \
        pytest.approx(10.0, abs=0.02)
    noise = measured(summary, "amplifier-noise", "noise_rms")
    assert 1.0 < noise["value"] < noise["upper"]
    mains = measured(summary, "mains-mains", "mains_50hz")
    assert mains["value"] == pytest.approx(8.0, abs=0.5)  # the profile's hum_uV
    assert measured(summary, "mains-mains", "mains_60hz")["value"] < 1.0
    assert mains["reference_id"] == "mains-50hz"


def test_bench_check_is_an_ordinary_stored_run_with_traces(full_check) -> None:
    db_path, result, events = full_check
    db = open_database(db_path)
    listed = list_runs(db)
    assert [(r["protocol_id"], r["subject_id"]) for r in listed] == [("bench-check",
                                                                     FIXTURE_SUBJECT)]
    run = get_run(db, result.run_id)
    assert run is not None and run["bench_profile"] == "sim"
    checks = [s for s in run["steps"] if s["kind"] == "bench_check"]
    assert len(checks) == 7
    assert len([t for t in run["traces"] if t["role"] == "final"]) == 7
    assert latest_bench_check(db, "sim")["run_id"] == result.run_id
    assert latest_bench_check(db, "sim-rigol") is None
    # the live display saw every sweep; the operator confirmed each fixture
    assert sum(isinstance(e, ev.SweepRecorded) for e in events) == 7
    prompts = [e.prompt.id for e in events if isinstance(e, ev.PromptRequested)]
    assert "stimulator-load-routine.fixture" in prompts


@pytest.mark.parametrize(("protocol", "fault", "value", "failing"), [
    ("stimulator", "current_scale", 1.08, ("pulse_current",)),
    ("stimulator", "width_offset_ms", 0.03, ("pulse_width",)),
    ("amplifier", "gain_scale", 0.95, ("amplifier_gain",)),
    ("amplifier", "noise_uV_rms", 5.0, ("noise_rms",)),
    ("timing", "delay_offset_ms", 0.1, ("onset_latency",)),
    ("mains", "hum_uV", 25.0, ("mains_50hz",)),
])
def test_a_miscalibrated_bench_fails_the_check_that_covers_it(
        tmp_path: Path, protocol: str, fault: str, value: float, failing: tuple[str, ...]
) -> None:
    db_path = tmp_path / "runs.sqlite"
    notices: list[ev.Notice] = []
    session = open_bench_check(
        "sim", db_path=db_path, fast=True, protocol=BENCH / f"{protocol}.yaml",
        subscribers=[lambda e: notices.append(e) if isinstance(e, ev.Notice) else None])
    miscalibrate(session.bench, fault, value)
    result = execute_bench_check(session, db_path)
    assert result.status == "completed"
    assert result.outcome == "fail"
    out = {m["name"] for c in result.summary["checks"] for m in c["measurements"]
           if m["outcome"] != "normal"}
    assert out == set(failing)
    assert any("FAIL" in n.text and failing[0] in n.text for n in notices)
    assert latest_bench_check(open_database(db_path), "sim")["outcome"] == "fail"


def test_study_runs_record_the_latest_bench_check_of_their_bench(tmp_path: Path,
                                                                   capsys) -> None:
    db_path = tmp_path / "runs.sqlite"

    def study() -> dict:
        assert run_headless(protocols_dir() / "median_motor.yaml", "normal-adult",
                            db_path=db_path, answers={}, as_json=True, profile="sim",
                            fast=True, bench_config=None) == 0
        db = open_database(db_path)
        newest = list_runs(db, protocol_id="median-motor", limit=1)[0]
        return get_run(db, newest["id"])["provenance"]["bench_check"]

    assert study()["outcome"] == "none"
    session = open_bench_check("sim", db_path=db_path, fast=True,
                               protocol=BENCH / "amplifier.yaml")
    miscalibrate(session.bench, "gain_scale", 1.1)
    failed = execute_bench_check(session, db_path)
    recorded = study()
    assert recorded["run_id"] == failed.run_id and recorded["outcome"] == "fail"
    db = open_database(db_path)
    first, second = reversed(list_runs(db, protocol_id="median-motor"))
    warned = [n["text"] for n in run_notices(db, second["id"]) if n["level"] == "warning"]
    assert any(f"did not pass (fail, run {failed.run_id[:8]})" in w for w in warned)
    assert not any("bench check" in n["text"] for n in run_notices(db, first["id"]))
    assert recorded["checks"] == {"gain": "fail", "noise": "pass"}
    capsys.readouterr()
    assert main(["show", recorded["run_id"][:8], "--db", str(db_path)]) == 0
    newest = list_runs(open_database(db_path), protocol_id="median-motor", limit=1)[0]
    assert main(["show", newest["id"], "--db", str(db_path)]) == 0
    shown = capsys.readouterr().out
    assert f"bench check: FAIL (run {failed.run_id[:8]}" in shown
    assert "not passed: gain" in shown
    from edxbench.reports.model import load_run
    from edxbench.reports.sections import provenance_fields

    fields = dict(provenance_fields(load_run(open_database(db_path), newest["id"])))
    assert fields["Bench check"].startswith(f"FAIL (run {failed.run_id[:8]}")


def test_cli_bench_check_and_show(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "runs.sqlite")
    assert main(["bench", "show", "--db", db]) == 2  # nothing on record: one line, exit 2
    assert "no bench check for profile 'sim'" in capsys.readouterr().err
    assert main(["bench", "check", "--fast", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "outcome PASS" in out and "pulse_current" in out and "mains_50hz" in out
    assert main(["bench", "show", "--db", db, "--json"]) == 0
    import json

    shown = json.loads(capsys.readouterr().out)
    assert shown["outcome"] == "pass" and len(shown["checks"]) == 7
    assert main(["runs", "--db", db]) == 0
    assert "bench-check" in capsys.readouterr().out


def test_an_instrument_fault_mid_check_is_retried_and_the_check_completes(tmp_path: Path
                                                                          ) -> None:
    from engine.prompts import HeadlessPrompter

    db_path = tmp_path / "runs.sqlite"
    notices: list[ev.Notice] = []
    session = open_bench_check(
        "sim", db_path=db_path, fast=True, protocol=BENCH / "amplifier.yaml",
        prompter=HeadlessPrompter({"gain.fault": "retry"}),
        subscribers=[lambda e: notices.append(e) if isinstance(e, ev.Notice) else None])
    session.bench.subject_link.inject_fault("scope", "drop", 1, 0, "WAV:DATA")
    result = execute_bench_check(session, db_path)
    assert result.status == "completed" and result.outcome == "pass", result.summary
    errors = [n.text for n in notices if n.level == "error"]
    assert len(errors) == 1 and "scope" in errors[0]
    run = get_run(open_database(db_path), result.run_id)
    assert len(run["traces"]) == 2  # the broken capture is not stored
