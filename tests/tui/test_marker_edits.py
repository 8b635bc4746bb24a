"""Marker edits on a real stored run: re-measured in rustcore terms, stored with the
original kept, audited in the hash chain, and driven from the run detail by keys."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import rustcore
from engine.remeasure import RemeasureError, remeasure_sweep
from storage.audit import verify_chain
from storage.database import open_database
from tests.conftest import run_cli
from tests.tui.helpers import screen_of, screen_text, wait_for
from tui.app import EdxApp
from tui.data import RunFilter, StorageSource
from tui.markers import move_on_grid
from tui.screens.reason import ReasonScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.start import StartScreen
from tui.widgets.measurements_table import MeasurementsTable
from tui.widgets.trace_plot import TracePlot

FS, T0 = 20_000.0, -0.005


def sweep() -> np.ndarray:
    t = T0 + np.arange(600) / FS
    return (-8e-3 * np.exp(-((t - 0.0065) / 0.0012) ** 2)
            + 4e-3 * np.exp(-((t - 0.0095) / 0.0015) ** 2)
            + np.random.default_rng(1).normal(0, 2e-6, t.size))


def test_automatic_markers_reproduce_rustcore() -> None:
    volts = sweep()
    auto = rustcore.measure_sweep(volts, FS, T0)
    again = remeasure_sweep(volts, FS, T0, onset_s=auto["onset"],
                            peak_s=auto["neg_peak_latency"])
    for key in ("onset", "neg_peak_latency", "neg_amplitude", "pos_peak_latency",
                "p2p_amplitude", "neg_duration", "neg_area"):
        assert again[key] == pytest.approx(auto[key], rel=1e-12, abs=1e-15), key


def test_a_later_onset_shortens_duration_and_area_only() -> None:
    volts = sweep()
    auto = rustcore.measure_sweep(volts, FS, T0)
    later = auto["onset"] + 10 / FS
    moved = remeasure_sweep(volts, FS, T0, onset_s=later, peak_s=auto["neg_peak_latency"])
    assert moved["onset"] == later
    assert moved["neg_duration"] == pytest.approx(auto["neg_duration"] - 10 / FS, abs=1e-12)
    assert 0 < moved["neg_area"] < auto["neg_area"]
    assert moved["neg_amplitude"] == auto["neg_amplitude"]
    with pytest.raises(RemeasureError, match="not before the negative peak"):
        remeasure_sweep(volts, FS, T0, onset_s=0.008, peak_s=auto["neg_peak_latency"])
    with pytest.raises(RemeasureError, match="off the sweep"):
        remeasure_sweep(volts, FS, T0, onset_s=0.5)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real headless run of a subject with a prolonged distal latency."""
    path = tmp_path_factory.mktemp("marker") / "runs.sqlite"
    result = run_cli("run", "median-motor", "--subject", "cts-moderate", "--headless", "--fast",
                     "--json", "--db", str(path), env={"EDXBENCH_SIM_SEED": "1234"})
    assert result.returncode == 0, result.stderr
    return path, json.loads(result.stdout)["run_id"]


def copy_of(stored_run: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "runs.sqlite"
    shutil.copy(stored_run[0], path)
    return path, stored_run[1]


def distal_final_trace(source: StorageSource, run_id: str) -> int:
    run = source.run(run_id)
    return next(int(t["id"]) for t in run["traces"]
                if t["role"] == "final" and t["step_id"] == "wrist")


def test_an_edit_is_stored_audited_and_revises_the_flag(stored_run: tuple[Path, str],
                                                          tmp_path: Path) -> None:
    path, run_id = copy_of(stored_run, tmp_path)
    source = StorageSource(path)
    trace_id = distal_final_trace(source, run_id)
    trace = source.trace(trace_id)
    before = {m["name"]: m for m in source.run(run_id)["measurements"]
              if m["trace_id"] == trace_id}
    assert before["onset_latency"]["outcome"] == "abnormal"  # > 4.4 ms (Preston & Shapiro)
    abnormal_before = source.runs_page(0, 1, _no_filter())[0]["abnormal_count"]

    new_onset = trace.t0 + round((0.004 - trace.t0) * trace.sample_rate) / trace.sample_rate
    with pytest.raises(ValueError, match="reason"):
        source.save_marker_edit(run_id, trace_id, "onset", new_onset, "  ")
    saved = source.save_marker_edit(run_id, trace_id, "onset", new_onset,
                                    "onset placed late on a noisy baseline")

    after = {m["name"]: m for m in saved.measurements if m["trace_id"] == trace_id}
    onset = after["onset_latency"]
    assert onset["revised"] and onset["value"] == pytest.approx(new_onset * 1e3, abs=1e-4)
    assert onset["outcome"] == "normal" and onset["original_outcome"] == "abnormal"
    assert onset["original_value"] == before["onset_latency"]["value"]
    assert after["neg_duration"]["value"] > before["neg_duration"]["value"]
    assert not after["neg_amplitude"]["revised"]  # unchanged values get no revision
    assert saved.markers["onset"] == new_onset

    with sqlite3.connect(path) as conn:  # the engine's rows are untouched
        raw = conn.execute("SELECT value, outcome FROM measurements WHERE id = ?",
                           (onset["id"],)).fetchone()
        edit = conn.execute("SELECT marker, old_s, new_s, operator, reason FROM marker_edits"
                            ).fetchone()
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert raw == (before["onset_latency"]["value"], "abnormal")
    assert edit[0] == "onset" and edit[2] == new_onset and edit[3] and "noisy" in edit[4]
    assert edit[1] == pytest.approx(trace.measures["onset"])
    assert kinds[-1] == "MarkerEdited"
    db = open_database(path)
    try:
        assert verify_chain(db) == []
        db.execute("UPDATE events SET payload_json = replace(payload_json, 'noisy', 'clean') "
                   "WHERE kind = 'MarkerEdited'")
        assert verify_chain(db)  # the audit chain covers the edit
    finally:
        db.close()
    # the list's abnormal count follows the revisions (the latency turned normal; the
    # forearm velocity, recomputed from the earlier wrist onset, may have turned abnormal)
    abnormal_now = sum(m["outcome"] == "abnormal" for m in saved.measurements)
    assert abnormal_before == sum(m["original_outcome"] == "abnormal"
                                  for m in saved.measurements)
    assert source.runs_page(0, 1, _no_filter())[0]["abnormal_count"] == abnormal_now
    report_rows = source.run(run_id)["measurements"]  # what reports read (get_run)
    assert any(m["id"] == onset["id"] and m["revised"] for m in report_rows)


def test_a_later_elbow_onset_recomputes_the_forearm_velocity(stored_run: tuple[Path, str],
                                                              tmp_path: Path) -> None:
    path, run_id = copy_of(stored_run, tmp_path)
    source = StorageSource(path)
    run = source.run(run_id)
    elbow = next(int(t["id"]) for t in run["traces"]
                 if t["role"] == "final" and t["step_id"] == "elbow")
    trace = source.trace(elbow)
    later = trace.measures["onset"] + 20 / trace.sample_rate
    saved = source.save_marker_edit(run_id, elbow, "onset", later, "onset before the takeoff")
    rows = {(m["step_id"], m["name"]): m for m in saved.measurements}
    velocity = rows[("forearm_velocity", "conduction_velocity")]
    distance = next(s["result"]["value"] for s in run["steps"]
                    if s["step_id"] == "forearm_distance")
    wrist_onset = rows[("wrist", "onset_latency")]["value"]
    elbow_onset = rows[("elbow", "onset_latency")]["value"]
    assert rows[("elbow", "onset_latency")]["revised"] and velocity["revised"]
    assert velocity["value"] == pytest.approx(distance / (elbow_onset - wrist_onset), abs=0.01)
    assert velocity["value"] < velocity["original_value"]  # a later onset: a slower forearm
    assert "recomputed" in velocity["revision_note"]
    assert saved.revised >= 2


def _no_filter() -> RunFilter:
    return RunFilter()


async def test_run_detail_stores_a_moved_marker_by_keys(stored_run: tuple[Path, str],
                                                        tmp_path: Path) -> None:
    path, run_id = copy_of(stored_run, tmp_path)
    app = EdxApp(path, fast=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        app.open_run_detail(run_id)
        screen = await screen_of(pilot, RunDetailScreen)
        plot = screen.query_one(TracePlot)
        await wait_for(pilot, lambda: plot.spec is not None, what="first trace")
        final = next(i for i, t in enumerate(screen.traces)
                     if t["role"] == "final" and t["step_id"] == "wrist")
        screen.select_trace(final)
        await wait_for(pilot, lambda: screen.current_trace is not None, what="final trace")
        start = plot.spec.onset
        text = await wait_for(pilot, lambda: "Impression:" in screen_text(app)
                              and screen_text(app), what="impression painted")
        assert "made before the marker edits" not in text
        await pilot.press("o", *["shift+left"] * 5)
        assert screen.pending_moves
        await wait_for(pilot, lambda: "NOT stored" in screen_text(app), what="pending note")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonScreen))
        await pilot.press("enter")  # empty: refused
        await wait_for(pilot, lambda: "required" in screen_text(app), what="refusal")
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press(*"artefact tail", "enter")
        await wait_for(pilot, lambda: not screen.saving and not screen.pending_moves,
                       what="edit stored")
        await wait_for(pilot, lambda: "Stored edit #1" in screen_text(app), what="note")
        table = screen.query_one(MeasurementsTable)
        cells = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert any(c.endswith("*") for c in cells)
        spec = plot.spec
        moved = move_on_grid(start, -50, spec.volts.shape[0], spec.sample_rate, spec.t0)
        assert spec.onset == moved  # five shift+← from the automatic onset, on the grid
        await pilot.press("o", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))

        app.open_run_detail(run_id)  # reopened: the marker is where it was stored
        again = await screen_of(pilot, RunDetailScreen)
        await wait_for(pilot, lambda: again.query_one(TracePlot).spec is not None)
        again.select_trace(final)
        await wait_for(pilot, lambda: again.current_trace is not None)
        await pilot.pause()
        assert again.query_one(TracePlot).spec.onset == pytest.approx(moved, abs=1e-15)
        assert not again.pending_moves
        # the engine's interpretation, now older than the edit
        await wait_for(pilot, lambda: "made before the marker edits" in screen_text(app),
                       what="stale impression")


async def test_a_run_exports_from_its_detail_screen(stored_run: tuple[Path, str],
                                                    tmp_path: Path) -> None:
    from textual.widgets import Input

    from tui.screens.export import ExportScreen

    path, run_id = stored_run
    out = tmp_path / "exports"
    out.mkdir()
    app = EdxApp(path, fast=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        app.open_run_detail(run_id)
        screen = await screen_of(pilot, RunDetailScreen)
        await wait_for(pilot, lambda: screen.run is not None, what="run loaded")
        await pilot.press("e")
        export = await screen_of(pilot, ExportScreen)
        export.query_one(Input).value = str(tmp_path / "missing")
        await pilot.press("enter")  # html, into a folder that does not exist
        await wait_for(pilot, lambda: "Not exported" in screen_text(app), what="refusal")
        export.query_one(Input).value = str(out)
        await pilot.press("down", "enter")  # Markdown
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="written")
    written = out / f"edxbench-{run_id[:8]}.md"
    assert written.stat().st_mode & 0o077 == 0  # owner only, as the command line writes it
    text = written.read_text()
    assert run_id in text and "onset" in text.lower()
