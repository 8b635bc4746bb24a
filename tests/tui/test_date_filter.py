"""Runs filtered by the day they started: in SQL (real file), on the screen, in the CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.conftest import run_cli
from tests.tui.dbgen import generate
from tests.tui.helpers import screen_of, wait_for
from tui.app import EdxApp
from tui.data import RunFilter, StorageSource, parse_dates
from tui.screens.runs import RunsScreen
from tui.screens.start import StartScreen
from tui.widgets.runs_table import RunsTable


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dates") / "runs.db"
    generate(path, runs=3000, detailed=1)  # 1440 runs a day from 2020-01-01
    return path


def days_of(rows: list[dict]) -> set[str]:
    return {r["started_at"][:10] for r in rows}


def test_days_are_inclusive_and_in_sql(db_file: Path) -> None:
    source = StorageSource(db_file)
    one = source.runs_page(0, 5000, RunFilter(since=date(2020, 1, 2), until=date(2020, 1, 2)))
    assert len(one) == 1440 and days_of(one) == {"2020-01-02"}
    later = source.runs_page(0, 5000, RunFilter(since=date(2020, 1, 2)))
    assert days_of(later) == {"2020-01-02", "2020-01-03"} and len(later) == 3000 - 1440
    earlier = source.runs_page(0, 5000, RunFilter(until=date(2020, 1, 1)))
    assert days_of(earlier) == {"2020-01-01"} and len(earlier) == 1440


def test_date_text_forms() -> None:
    assert parse_dates("2020-01-02") == (date(2020, 1, 2), date(2020, 1, 2))
    assert parse_dates("2020-01-02..2020-01-05") == (date(2020, 1, 2), date(2020, 1, 5))
    assert parse_dates("..2020-01-05") == (None, date(2020, 1, 5))
    assert parse_dates("2020-01-02..") == (date(2020, 1, 2), None)
    assert parse_dates("  ") == (None, None)
    for bad in ("yesterday", "2020-13-01", "2020-01-05..2020-01-02"):
        with pytest.raises(ValueError):
            parse_dates(bad)


async def test_typing_a_day_narrows_the_list(db_file: Path) -> None:
    app = EdxApp(db_file, fast=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await screen_of(pilot, StartScreen)
        await pilot.press("l")
        runs = await screen_of(pilot, RunsScreen)
        table = runs.query_one(RunsTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="first page")
        field = runs.query_one("#runs-dates", Input)
        field.focus()
        await pilot.press(*"not-a-day", "enter")
        await pilot.pause()
        assert runs.filters.since is None  # refused with a notice, list unchanged
        field.value = ""
        await pilot.press(*"2020-01-03", "enter")
        await wait_for(pilot, lambda: runs.filters.since == date(2020, 1, 3)
                       and not runs.fetching, what="date filter")
        assert days_of(runs.rows) == {"2020-01-03"} and table.row_count == 3000 - 2880


def test_cli_lists_runs_of_a_day(db_file: Path) -> None:
    result = run_cli("runs", "--json", "--db", str(db_file), "--limit", "5000",
                     "--since", "2020-01-03", "--until", "2020-01-03")
    assert result.returncode == 0, result.stderr
    import json
    assert days_of(json.loads(result.stdout)) == {"2020-01-03"}
    bad = run_cli("runs", "--db", str(db_file), "--since", "someday")
    assert bad.returncode == 2 and "not a day" in bad.stderr
