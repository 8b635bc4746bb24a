"""Security: no personal data in what the app writes, no code from data files, loopback
only, and an audit chain that shows any edited, deleted or reordered event.

The personal-data test plants a subject whose file carries a name, a birth date, an
address and a dated injury, runs a study on it (engine, recorder, headless printer, the
simulated bench over sockets, every logger captured), then reads everything written to
the terminal, the logs and the sim's output, plus `edxbench runs/show` on the database:
only the pseudonymous id may appear.
"""

from __future__ import annotations

import io
import logging
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from edxbench.headless import HeadlessPrinter
from engine.prompts import HeadlessPrompter
from engine.protocol import ProtocolError, load_protocol
from engine.reference import load_references
from engine.runner import Run
from instruments.bench import Bench, open_bench
from instruments.bench_config import load_bench_config
from instruments.clock import FastClock
from instruments.sim import SimBench
from instruments.sim.subject_spec import SubjectFormatError, load_subject
from storage.database import open_database
from storage.recorder import RunRecorder
from tests.conftest import ROOT, run_cli
from tests.reliability.figures import report
from tests.reliability.mutator import PWNED

SUBJECT = "sx-0042"
PERSONAL = ("Jane", "Public", "1961-07-04", "04/07/1961", "Elm Street", "2026-01-05",
            "555-0199")
TAG = f'!!python/object/apply:os.system ["touch {PWNED}"]'


def plant_subject(directory: Path) -> None:
    doc = yaml.safe_load((ROOT / "data" / "subjects" / "normal-adult.yaml").read_text())
    doc["id"] = SUBJECT
    doc["description"] = "Jane Q. Public, born 1961-07-04 (04/07/1961), 12 Elm Street, 555-0199"
    doc["history"]["recent_injury_date"] = "2026-01-05"
    text = yaml.safe_dump(doc, sort_keys=False).replace("'2026-01-05'", "2026-01-05")
    (directory / f"{SUBJECT}.yaml").write_text(text, encoding="utf-8")


def test_no_personal_data_in_output_logs_or_sim(tmp_path: Path,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    subjects = tmp_path / "subjects"
    shutil.copytree(ROOT / "data" / "subjects", subjects)
    plant_subject(subjects)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    db_path = tmp_path / "runs.sqlite"
    progress = io.StringIO()
    try:
        profile = load_bench_config()["sim"]
        protocol = load_protocol(ROOT / "protocols" / "median_motor.yaml")
        with SimBench(seed=3, subject_dir=subjects, settings=profile.sim_settings()) as sim:
            bench = Bench.connect(profile, sim.resources, FastClock(), sim_seed=3)
            db = open_database(db_path)
            try:
                bench.connect_subject(SUBJECT)
                printer = HeadlessPrinter(progress)
                result = Run(protocol, subject_id=SUBJECT, bench=bench,
                             prompter=HeadlessPrompter(), subscribers=[RunRecorder(db), printer],
                             reference=load_references(protocol.references),
                             operator="op-7").execute()
            finally:
                bench.close()
                db.conn.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert result.status == "completed", result.reason
    captured = capfd.readouterr()
    commands = {"runs": ("runs",), "runs --json": ("runs", "--json"),
                "show": ("show", result.run_id[:8]),
                "show --json": ("show", result.run_id[:8], "--json"),
                "audit verify": ("audit", "verify")}
    written = {
        "headless progress": progress.getvalue(),
        "log records": log.getvalue(),
        "sim and process stdout/stderr": captured.out + captured.err,
    }
    for name, args in commands.items():
        done = run_cli(*args, "--db", str(db_path))
        written[f"edxbench {name}"] = done.stdout + done.stderr
    leaks = [f"{where}: {word!r}" for where, text in written.items() for word in PERSONAL
             if word in text]
    assert SUBJECT in written["edxbench runs"]
    # the database holds the run, but not the subject file's identity either
    conn = sqlite3.connect(db_path)
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    leaks += [f"database: {word!r}" for word in PERSONAL if word in dump]
    report("7 security", f"personal data planted in a subject file ({len(PERSONAL)} strings: "
           f"name, birth date, address, phone, injury date) found in {len(written)} outputs "
           f"and logs + the database dump: {len(leaks)} leaks; only '{SUBJECT}' appears")
    assert not leaks, leaks


def test_data_files_never_execute_code(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    protocol = tmp_path / "p.yaml"
    text = (ROOT / "protocols" / "median_motor.yaml").read_text(encoding="utf-8")
    protocol.write_text(text.replace('version: "1.0"', f"version: {TAG}"), encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"p\.yaml:\d+:\d+: bad value: "):
        load_protocol(protocol)
    subject = tmp_path / "normal-adult.yaml"
    subject.write_text((ROOT / "data" / "subjects" / "normal-adult.yaml").read_text()
                       .replace("side: right", f"side: {TAG}"), encoding="utf-8")
    with pytest.raises(SubjectFormatError, match=r"normal-adult\.yaml"):
        load_subject(subject)
    answers = tmp_path / "answers.yaml"
    answers.write_text(f"wrist.placed: {TAG}\n", encoding="utf-8")
    done = run_cli("run", "median-motor", "--headless", "--fast", "--subject", "normal-adult",
                   "--answers", str(answers), "--db", str(tmp_path / "x.sqlite"), cwd=tmp_path)
    assert done.returncode == 2 and f"{answers}:1:" in done.stderr, done.stderr
    assert not (tmp_path / PWNED).exists()
    report("7 security", "python tags in a protocol, a subject and an answers file: all "
           "refused naming the file, nothing executed")


def listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_the_simulated_bench_listens_on_loopback_only() -> None:
    bench = open_bench("sim", clock=FastClock())  # the sim as a child process, as runs use it
    try:
        ports = [int(t.resource.split("::")[2]) for t in (bench.generator.t, bench.scope.t)]
        if bench.subject_link is not None:
            ports.append(int(bench.subject_link.t.resource.split("::")[2]))
        addresses = {port: listening(port) for port in ports}
    finally:
        bench.close()
    assert all(addresses.values()), addresses
    # 0100007F is 127.0.0.1 in /proc's byte order; 0.0.0.0 or a LAN address would show here
    assert all(a == "0100007F" for found in addresses.values() for a in found), addresses
    report("7 security", f"simulated bench: {len(ports)} listening sockets, all on "
           "127.0.0.1 (read from /proc/net/tcp)")


def _tamper(db_path: Path, sql: str) -> None:
    conn = sqlite3.connect(db_path)
    try:
        conn.executescript(sql)
    finally:
        conn.close()


def test_audit_chain_detects_edited_deleted_and_reordered_events(tmp_path: Path) -> None:
    original = tmp_path / "original.sqlite"
    done = run_cli("run", "median-motor", "--headless", "--fast", "--subject", "normal-adult",
                   "--db", str(original))
    assert done.returncode == 0, done.stderr
    intact = run_cli("audit", "verify", "--db", str(original))
    assert intact.returncode == 0 and "chain intact" in intact.stdout
    conn = sqlite3.connect(original)
    n = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    middle = n // 2
    attacks = {
        "edited payload": f"UPDATE events SET payload_json = replace(payload_json, 'a', 'b') "
                          f"WHERE id = {middle}",
        "edited time": f"UPDATE events SET at = '2000-01-01T00:00:00Z' WHERE id = {middle}",
        "edited and re-hashed": f"UPDATE events SET kind = 'Notice', hash = "
                                f"'{'f' * 64}' WHERE id = {middle}",
        "deleted": f"DELETE FROM events WHERE id = {middle}",
        "deleted first": "DELETE FROM events WHERE id = (SELECT min(id) FROM events)",
        "reordered": f"UPDATE events SET id = -1 WHERE id = {middle}; "
                     f"UPDATE events SET id = {middle} WHERE id = {middle + 1}; "
                     f"UPDATE events SET id = {middle + 1} WHERE id = -1",
        "inserted": "INSERT INTO events (run_id, at, kind, payload_json, prev_hash, hash) "
                    "SELECT run_id, at, kind, payload_json, prev_hash, hash FROM events "
                    f"WHERE id = {middle}",
    }
    detected = {}
    for name, sql in attacks.items():
        copy = tmp_path / f"{name.replace(' ', '-')}.sqlite"
        shutil.copy(original, copy)
        _tamper(copy, sql)
        verdict = run_cli("audit", "verify", "--db", str(copy))
        detected[name] = verdict.returncode == 1 and "problems" in verdict.stdout
    # the tail: deleting the newest events leaves a shorter chain that is still whole;
    # only a record of the chain's head kept elsewhere can show it
    copy = tmp_path / "tail.sqlite"
    shutil.copy(original, copy)
    _tamper(copy, "DELETE FROM events WHERE id = (SELECT max(id) FROM events)")
    tail = run_cli("audit", "verify", "--db", str(copy)).returncode == 1
    tail_note = "detected" if tail else "not detectable from the chain alone (known limit)"
    report("7 security", f"audit chain over {n} events: "
           + ", ".join(f"{k} {'detected' if v else 'MISSED'}" for k, v in detected.items())
           + f"; deleting the newest event: {tail_note}")
    assert all(detected.values()), detected
