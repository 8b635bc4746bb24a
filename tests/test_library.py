"""Every protocol in the library validates, dry-runs, and runs headless on a virtual subject
that has the disorder it is for (single-nerve studies on the normal adult).

The default suite runs each protocol on its first subject; EDXBENCH_FULL=1 adds the other
matching subjects (e.g. both polyneuropathies for the polyneuropathy screen).
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.catalog import list_protocols
from engine.protocol import load_protocol
from instruments.bench import available_subjects
from tests.conftest import ROOT, run_cli

LIBRARY = sorted((ROOT / "protocols").glob("*.yaml"))
FULL = os.environ.get("EDXBENCH_FULL") == "1"
RUNS_AT_ONCE = 2

# protocol id → the virtual subjects it is run on (first one in the default suite)
MATCHING_SUBJECTS: dict[str, tuple[str, ...]] = {
    "carpal-tunnel": ("cts-moderate", "cts-mild", "cts-severe"),
    "ulnar-elbow": ("ulnar-neuropathy-elbow",),
    "polyneuropathy-screen": ("cidp", "axonal-polyneuropathy", "normal-elderly"),
    "cervical-radiculopathy-workup": ("c7-radiculopathy", "c6-radiculopathy",
                                      "lower-trunk-plexopathy"),
    "lumbosacral-radiculopathy-workup": ("s1-radiculopathy", "l5-radiculopathy"),
    "myopathy-screen": ("myopathy",),
    "nmj-workup": ("myasthenia-gravis", "lambert-eaton"),
    "cervical-emg-screen": ("c7-radiculopathy",),
    "lumbosacral-emg-screen": ("l5-radiculopathy",),
    "rns": ("myasthenia-gravis",),
    "h-reflex": ("normal-adult", "s1-radiculopathy"),
}
SINGLE_STUDY_SUBJECT = "normal-adult"

# (protocol, subject) → findings the run must flag abnormal: "step.measurement". Only
# findings with a cited limit in data/reference/ are listed (needle EMG is unflagged).
EXPECTED_ABNORMAL: dict[tuple[str, str], tuple[str, ...]] = {
    ("carpal-tunnel", "cts-moderate"): ("mm-wrist.onset_latency", "csi.sum"),
    ("ulnar-elbow", "ulnar-neuropathy-elbow"): ("um-elbow-slowing.difference",),
    ("polyneuropathy-screen", "cidp"): ("mm-wrist.onset_latency",
                                       "mm-forearm_velocity.conduction_velocity"),
    ("nmj-workup", "myasthenia-gravis"): ("rns.rns_decrement_4th",),
    ("nmj-workup", "lambert-eaton"): ("rns.rns_post_exercise_increment",),
    ("rns", "myasthenia-gravis"): ("trains.rns_decrement_4th",),
}


def protocol_ids() -> dict[str, Path]:
    return {load_protocol(path).id: path for path in LIBRARY}


def cases() -> list[tuple[str, str]]:
    found = []
    for protocol_id in protocol_ids():
        subjects = MATCHING_SUBJECTS.get(protocol_id, (SINGLE_STUDY_SUBJECT,))
        found += [(protocol_id, subject) for subject in (subjects if FULL else subjects[:1])]
    return found


def test_catalog_lists_every_file() -> None:
    assert len(list_protocols()) == len(LIBRARY) >= 22


def test_every_matching_subject_exists() -> None:
    subjects = set(available_subjects())
    ids = protocol_ids()
    for protocol_id, wanted in MATCHING_SUBJECTS.items():
        assert protocol_id in ids, f"{protocol_id} is matched to subjects but not shipped"
        assert set(wanted) <= subjects, (protocol_id, set(wanted) - subjects)
    for protocol_id, _ in EXPECTED_ABNORMAL:
        assert protocol_id in ids


def test_the_readme_describes_every_protocol() -> None:
    text = (ROOT / "protocols" / "README.md").read_text(encoding="utf-8")
    library = text[text.index("## The library"):]
    missing = [pid for pid in protocol_ids() if f"`{pid}`" not in library]
    assert not missing, f"protocols/README.md does not describe {missing}"
    for protocol_id, subjects in MATCHING_SUBJECTS.items():
        row = next(line for line in library.splitlines() if f"`{protocol_id}`" in line)
        assert all(subject in row for subject in subjects), (protocol_id, row)


def test_composites_include_their_parts() -> None:
    """The composites are built from the single-study files, not copies of their steps."""
    ids = protocol_ids()
    for protocol_id in ("ulnar-elbow", "polyneuropathy-screen", "cervical-radiculopathy-workup",
                        "lumbosacral-radiculopathy-workup", "myopathy-screen", "nmj-workup"):
        text = ids[protocol_id].read_text(encoding="utf-8")
        assert "{include:" in text, protocol_id
        steps = {step.id for step in load_protocol(ids[protocol_id]).steps}
        assert any("-" in s and s.split("-")[0] in ("mm", "um", "su") for s in steps)


@dataclass
class Headless:
    """One protocol run through the command as a person would, and what it printed."""

    dry: subprocess.CompletedProcess[str]
    result: subprocess.CompletedProcess[str]
    shown: subprocess.CompletedProcess[str] | None


def run_headless(protocol_id: str, subject: str, where: Path) -> Headless:
    path = protocol_ids()[protocol_id]
    where.mkdir(parents=True)
    dry = run_cli("run", str(path), "--dry-run")
    # An instrument that answers late on a loaded test machine is retried, as an operator
    # would; a bench that never answers still fails the run (and the command's timeout).
    answers = where / "answers.json"
    answers.write_text(json.dumps({f"{s.id}.fault": "retry"
                                   for s in load_protocol(path).steps}))
    db = str(where / "runs.sqlite")
    result = run_cli("run", str(path), "--subject", subject, "--headless", "--json", "--fast",
                     "--db", db, "--answers", str(answers), env={"EDXBENCH_SIM_SEED": "11"},
                     timeout=300)
    shown = None
    if result.returncode == 0:
        run_id = json.loads(result.stdout)["run_id"]
        shown = run_cli("show", run_id, "--json", "--db", db)
    return Headless(dry, result, shown)


@pytest.fixture(scope="module")
def headless_runs(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Headless]:
    """The selected cases, RUNS_AT_ONCE at a time: each run mostly waits on its simulated
    bench (trains play in real time), so overlapping them saves most of the wall time."""
    wanted = [(item.callspec.params["protocol_id"], item.callspec.params["subject"])
              for item in request.session.items
              if getattr(item, "originalname", "") == "test_protocol_runs_headless_on_a_"
                                                      "matching_subject"]
    base = tmp_path_factory.mktemp("library")
    with ThreadPoolExecutor(max_workers=RUNS_AT_ONCE) as pool:
        futures = {case: pool.submit(run_headless, *case, base / f"{n}")
                   for n, case in enumerate(wanted)}
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize(("protocol_id", "subject"), cases(), ids=lambda v: v)
def test_protocol_runs_headless_on_a_matching_subject(
        protocol_id: str, subject: str, headless_runs: dict[tuple[str, str], Headless]) -> None:
    protocol = load_protocol(protocol_ids()[protocol_id])
    ran = headless_runs[(protocol_id, subject)]
    assert ran.dry.returncode == 0, ran.dry.stderr
    result = ran.result
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "completed", doc["reason"]
    assert doc["measurements"], "a study that measured nothing"
    missing = [m for m in doc["measurements"] if m["value"] is None
               and m["name"] in ("onset_latency", "conduction_velocity")]
    if subject.startswith("normal"):
        assert not missing, missing
    else:  # an absent response is a finding (e.g. severe CTS), never a silent gap
        assert all(m["note"] and m["outcome"] == "unflagged" for m in missing), missing
    shown = ran.shown
    assert shown is not None and shown.returncode == 0, shown
    status = {s["step_id"]: s for s in json.loads(shown.stdout)["steps"]}
    stepped = {m["step_id"] for m in doc["measurements"]}
    for step in protocol.steps:
        if step.kind not in ("stimulate", "series", "needle"):
            continue
        if status[step.id]["status"] == "skipped":  # a subject's contraindication gates it
            assert status[step.id]["reason"].startswith("contraindicated"), status[step.id]
        else:
            assert step.id in stepped, f"{step.id} ran without measurements"
    abnormal = {f"{m['step_id']}.{m['name']}" for m in doc["measurements"]
                if m["outcome"] == "abnormal"}
    missing = set(EXPECTED_ABNORMAL.get((protocol_id, subject), ())) - abnormal
    assert not missing, f"{protocol_id} on {subject}: not flagged {missing}"
