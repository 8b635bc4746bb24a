"""Real runs for the export tests: the headless engine on the simulated bench, into a
temporary database, exactly as `edxbench run … --headless` stores them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_cli

SEED = {"EDXBENCH_SIM_SEED": "1234"}
HOSTILE_SUBJECT = '<script>alert("x")</script>&amp;|`*_'
HOSTILE_TITLE = "Median <img src=x onerror=alert(1)> motor"


@dataclass(frozen=True)
class StoredRun:
    db_path: Path
    run_id: str
    doc: dict


def headless_run(db_path: Path, subject: str, protocol: str = "median-motor") -> StoredRun:
    result = run_cli("run", protocol, "--subject", subject, "--headless", "--fast", "--json",
                     "--db", str(db_path), env=SEED)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    return StoredRun(db_path=db_path, run_id=doc["run_id"], doc=doc)


@pytest.fixture(scope="session")
def normal_run(tmp_path_factory: pytest.TempPathFactory) -> StoredRun:
    return headless_run(tmp_path_factory.mktemp("normal") / "runs.sqlite", "normal-adult")


@pytest.fixture(scope="session")
def abnormal_run(tmp_path_factory: pytest.TempPathFactory) -> StoredRun:
    return headless_run(tmp_path_factory.mktemp("cts") / "runs.sqlite", "cts-moderate")


@pytest.fixture(scope="session")
def hostile_run(normal_run: StoredRun, tmp_path_factory: pytest.TempPathFactory) -> StoredRun:
    """The normal run in a copy of its database, with subject and title turned to markup.

    (The simulated bench only accepts its virtual subjects' ids, so a run cannot be started
    under a made-up id such as `S-1`; a pseudonym typed on a real bench is free text.)
    """
    copy = tmp_path_factory.mktemp("hostile") / "runs.sqlite"
    with sqlite3.connect(normal_run.db_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE runs SET subject_id = ?, protocol_title = ? WHERE id = ?",
                     (HOSTILE_SUBJECT, HOSTILE_TITLE, normal_run.run_id))
    return StoredRun(db_path=copy, run_id=normal_run.run_id, doc=normal_run.doc)
