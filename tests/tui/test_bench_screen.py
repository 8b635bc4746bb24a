"""The bench screen on the simulated bench and a real SQLite file: identities, the latest
bench check (none, then the one run from the screen), and running one only after the
operator confirms the fixture is connected."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.database import open_database
from storage.queries import latest_bench_check
from tests.tui.helpers import screen_of, screen_text, wait_for
from tui.app import EdxApp
from tui.screens.bench import BenchScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.start import StartScreen

pytestmark = pytest.mark.timeout(180)


async def test_bench_check_runs_from_the_screen_and_is_shown(tmp_path: Path) -> None:
    db_path = tmp_path / "edx.db"
    app = EdxApp(db_path, fast=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await screen_of(pilot, StartScreen)
        app.open_bench()
        bench = await screen_of(pilot, BenchScreen)
        await wait_for(pilot, lambda: bench.info is not None, timeout=60, what="identities")
        await wait_for(pilot, lambda: "connected" in screen_text(app), what="identities shown")
        await wait_for(pilot, lambda: "No bench check on record" in screen_text(app),
                       what="no check yet")

        await pilot.press("v")
        await screen_of(pilot, ConfirmScreen)
        await pilot.press("n")  # declined: nothing runs
        await screen_of(pilot, BenchScreen)
        assert not bench.validating

        await pilot.press("v")
        await screen_of(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: bench.validating, what="check started")
        await wait_for(pilot, lambda: not bench.validating and bench.validation is not None,
                       timeout=120, what="check finished")
        summary = bench.validation
        assert summary["outcome"] == "pass"
        text = await wait_for(pilot, lambda: "PASS" in screen_text(app) and screen_text(app),
                              what="outcome painted")
        assert "PASS" in text and f"{len(summary['checks'])}/{len(summary['checks'])} checks" \
            in text
    db = open_database(db_path)
    try:
        stored = latest_bench_check(db, "sim")
    finally:
        db.close()
    assert stored is not None and stored["run_id"] == summary["run_id"]
