"""Headless output carries the run's stored interpretation: the JSON document under the
optional key `interpretation` (schema edxbench.run/1 unchanged otherwise), the plain
output as a closing impression line."""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

from storage.queries import get_interpretation
from tests.conftest import run_cli


def test_json_and_plain_output_carry_the_stored_interpretation(tmp_path: Path) -> None:
    db_path = tmp_path / "runs.sqlite"
    env = {"EDXBENCH_SIM_SEED": "3"}
    result = run_cli("run", "median-motor", "--subject", "cts-moderate", "--headless",
                     "--fast", "--json", "--db", str(db_path), env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "edxbench.run/1"
    assert {"run_id", "status", "measurements", "notices"} <= set(doc)  # unchanged keys
    stored = get_interpretation(sqlite_utils.Database(db_path), doc["run_id"])
    assert stored is not None and doc["interpretation"] == stored
    assert doc["interpretation"]["source"] == "run" and doc["interpretation"]["impression"]

    plain = run_cli("run", "median-motor", "--subject", "cts-moderate", "--headless",
                    "--fast", "--db", str(db_path), env=env)
    assert plain.returncode == 0, plain.stderr
    last = plain.stdout.strip().splitlines()[-1]
    run_id = plain.stdout.split("\nrun ", 1)[1].split(":", 1)[0]
    again = get_interpretation(sqlite_utils.Database(db_path), run_id)
    assert again is not None
    assert last == f"impression: {again['impression']}"
