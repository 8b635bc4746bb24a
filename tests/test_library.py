"""Every protocol in the library validates, dry-runs, and runs headless on a virtual subject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.catalog import list_protocols
from tests.conftest import ROOT

LIBRARY = sorted((ROOT / "protocols").glob("*.yaml"))


def test_catalog_lists_every_file() -> None:
    assert len(list_protocols()) == len(LIBRARY) >= 8


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_protocol_runs_headless_on_the_normal_subject(path: Path, cli, tmp_path: Path) -> None:
    dry = cli("run", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    result = cli("run", str(path), "--subject", "normal-adult", "--headless", "--json",
                 "--fast", "--db", str(tmp_path / "runs.sqlite"),
                 env={"EDXBENCH_SIM_SEED": "11"})
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "completed"
    assert doc["measurements"], "a study that measured nothing"
    assert all(m["value"] is not None for m in doc["measurements"]
               if m["name"] in ("onset_latency", "conduction_velocity")), doc["measurements"]
