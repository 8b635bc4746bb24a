"""The HTML report in a real headless browser (Debian's chromium), when it is installed:
the DOM it builds and a screenshot whose pixels show the traces and the flags."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edxbench.reports import export_run
from storage.database import open_database
from tests.reports.conftest import HOSTILE_SUBJECT, StoredRun
from tests.reports.pngread import read_png

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-headless-shell")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install chromium)")
TRACE_BLUE = (31, 78, 154)  # the polyline's stroke, #1f4e9a
ABNORMAL_RED = (187, 0, 0)  # .abnormal, #b00
IMPRESSION_YELLOW = (255, 248, 224)  # .impression background, #fff8e0


def chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--user-data-dir=" + str(cwd / "profile"),
                           *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def near(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    diff = np.abs(image[:, :, :3].astype(int) - np.array(colour)).sum(axis=2)
    return diff <= tolerance


def test_report_renders_in_chromium(abnormal_run: StoredRun, tmp_path: Path) -> None:
    html = export_run(open_database(abnormal_run.db_path), abnormal_run.run_id, "html",
                      tmp_path / "report.html")
    shot = tmp_path / "report.png"
    result = chromium("--window-size=1000,2000", f"--screenshot={shot}", html.as_uri(),
                      cwd=tmp_path)
    assert shot.exists(), result.stderr[-2000:]
    keep = os.environ.get("EDXBENCH_SCREENSHOT_DIR")
    if keep:  # for a person to look at
        shutil.copy(shot, Path(keep) / "report-abnormal.png")
    image = read_png(shot.read_bytes())
    assert image.shape[:2] == (2000, 1000)
    background = near(image, (255, 255, 255), 6).mean()
    assert 0.6 < background < 0.98  # a page with content, not blank nor a wall of colour
    blue_rows, blue_cols = np.nonzero(near(image, TRACE_BLUE))
    assert blue_rows.size > 800  # the first trace's line is drawn
    assert blue_cols.max() - blue_cols.min() > 400  # across most of the plot's width
    red = near(image, ABNORMAL_RED)
    assert red.sum() > 20  # ABNORMAL flags are visible in red
    # The flags (tables, top of page) sit above the traces.
    assert np.nonzero(red)[0].min() < blue_rows.min()
    # The impression box comes first, under the header, before the tables' flags.
    yellow_rows = np.nonzero(near(image, IMPRESSION_YELLOW, 4))[0]
    assert yellow_rows.size > 2000 and yellow_rows.min() < np.nonzero(red)[0].min()


def test_browser_dom_keeps_hostile_text_as_text(hostile_run: StoredRun, tmp_path: Path) -> None:
    html = export_run(open_database(hostile_run.db_path), hostile_run.run_id, "html",
                      tmp_path / "hostile.html")
    result = chromium("--dump-dom", html.as_uri(), cwd=tmp_path)
    dom = result.stdout
    assert "<svg" in dom and dom.count("<svg") == 2, result.stderr[-2000:]
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt;&amp;amp;" in dom
    assert HOSTILE_SUBJECT.startswith("<script>")


def test_impression_and_criteria_render_in_chromium(tmp_path: Path) -> None:
    """A carpal tunnel workup on the moderate CTS subject: the impression box, the criteria
    that fired with their evidence, and the localisation, as the browser shows them."""
    from tests.reports.conftest import headless_run

    run = headless_run(tmp_path / "runs.sqlite", "cts-moderate", "carpal-tunnel")
    html = export_run(open_database(run.db_path), run.run_id, "html", tmp_path / "cts.html")
    dom = chromium("--dump-dom", html.as_uri(), cwd=tmp_path).stdout
    assert "median at the wrist (carpal tunnel)" in dom and "Criteria met" in dom
    assert "cts-csi" in dom and "Robinson" in dom and "Requires confirmation by the reader" in dom
    shot = tmp_path / "cts.png"
    chromium("--window-size=1000,1600", f"--screenshot={shot}", html.as_uri(), cwd=tmp_path)
    keep = os.environ.get("EDXBENCH_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report-impression.png")
    image = read_png(shot.read_bytes())
    yellow = np.nonzero(near(image, IMPRESSION_YELLOW, 4))[0]
    assert yellow.size > 5000 and yellow.min() < 400  # the impression box near the top
