"""The database file: permissions, WAL, migrations that run once, clear errors."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from storage.database import StorageError, open_database
from storage.migrations import MIGRATIONS, migrate, schema_version
from storage.queries import count_runs, find_run_id, list_runs


def test_new_database_is_private_wal_and_current(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "runs.sqlite"
    db = open_database(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db.conn) == len(MIGRATIONS)
    assert {"runs", "steps", "traces", "measurements", "events"} <= set(db.table_names())


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    open_database(path).conn.close()
    db = open_database(path)
    assert migrate(db.conn) == len(MIGRATIONS)


def test_newer_schema_is_refused_with_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StorageError, match=rf"{path}.*newer than this edxbench"):
        open_database(path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not the rows you are looking for\n" * 100)
    with pytest.raises(StorageError, match=str(path)):
        open_database(path)


def test_readonly_open_of_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such file"):
        open_database(tmp_path / "absent.sqlite", readonly=True)


def test_run_list_pages_newest_first(tmp_path: Path) -> None:
    db = open_database(tmp_path / "runs.sqlite")
    rows = [
        (f"{i:08d}-run", f"2026-01-01T00:00:{i:02d}.000+00:00", "completed", "median-motor",
         "Median", "h", "t", f"S-{i % 3}")
        for i in range(30)
    ]
    db.conn.executemany(
        "INSERT INTO runs (id, started_at, status, protocol_id, protocol_title, "
        "protocol_sha256, protocol_text, subject_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    assert count_runs(db) == 30
    first = list_runs(db, limit=10)
    assert [r["id"] for r in first][:2] == ["00000029-run", "00000028-run"]
    second = list_runs(db, limit=10, offset=10)
    assert second[0]["id"] == "00000019-run"
    assert {r["subject_id"] for r in list_runs(db, search="S-1")} == {"S-1"}
    assert find_run_id(db, "00000007") == "00000007-run"
    assert find_run_id(db, "0000000") is None  # ambiguous prefix


def test_run_list_filters_in_sql(tmp_path: Path) -> None:
    db = open_database(tmp_path / "runs.sqlite")
    rows = [(f"r{i:03d}", f"2026-01-01T00:{i:02d}:00.000+00:00", "completed" if i % 2 else
             "failed", "median-motor" if i % 3 else "rns", "t", "h", "x", f"S-{i % 4}", i % 5)
            for i in range(40)]
    db.conn.executemany(
        "INSERT INTO runs (id, started_at, status, protocol_id, protocol_title, "
        "protocol_sha256, protocol_text, subject_id, abnormal_count) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    got = list_runs(db, protocol_id="rns", subject_id="S-1", status="failed",
                    abnormal_only=True, limit=100)
    expected = [r[0] for r in reversed(rows) if r[3] == "rns" and r[7] == "S-1"
                and r[2] == "failed" and r[8] > 0]
    assert [r["id"] for r in got] == expected
