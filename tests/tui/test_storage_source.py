"""StorageSource against a real SQLite file: pages, filters and one run in full."""

from __future__ import annotations

import pytest

from tests.tui.dbgen import generate
from tui.data import RunFilter, StorageSource

pytest.importorskip("storage.queries")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> StorageSource:
    path = tmp_path_factory.mktemp("db") / "runs.db"
    generate(path, runs=3000, detailed=5)
    return StorageSource(path)


def test_pages_newest_first(source: StorageSource) -> None:
    first = source.runs_page(0, 201, RunFilter())
    second = source.runs_page(200, 201, RunFilter())
    assert len(first) == 201 and first[200] == second[0]
    assert [r["started_at"] for r in first] == sorted((r["started_at"] for r in first),
                                                      reverse=True)


def test_filters_are_exact(source: StorageSource) -> None:
    rows = source.runs_page(0, 50, RunFilter(status="interrupted", protocol_id="ulnar-motor",
                                             abnormal_only=True))
    assert rows and all(r["status"] == "interrupted" and r["protocol_id"] == "ulnar-motor"
                        and r["abnormal_count"] > 0 for r in rows)
    subject = source.runs_page(0, 50, RunFilter(subject_id="S-0012"))
    assert subject and {r["subject_id"] for r in subject} == {"S-0012"}  # not S-00120…
    later = source.runs_page(1, 50, RunFilter(subject_id="S-0012"))
    assert later == subject[1:]


def test_a_run_opens_with_its_traces(source: StorageSource) -> None:
    run_id = source.runs_page(0, 1, RunFilter())[0]["id"]
    run = source.run(run_id)
    assert len(run["traces"]) == 12 and len(run["measurements"]) == 6
    trace = source.trace(run["traces"][0]["id"])
    assert trace.volts().shape == (1000,) and trace.measures["onset"] == 0.0035
