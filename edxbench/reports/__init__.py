"""Reports and open exports of a stored run: Markdown, HTML, CSV, JSON and EDF+.

`export_run(db, run_id, fmt, out_path)` reads the run once through `storage.queries` and
writes one file, mode 0600, because exports carry the same health data as the database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from edxbench.reports.files import write_private
from edxbench.reports.model import ExportError, RunData, load_run

FORMATS = ("md", "html", "csv", "json", "edf", "findings")
SUFFIXES = {"md": ".md", "html": ".html", "csv": ".csv", "json": ".json", "edf": ".edf",
            "findings": "-findings.csv"}

__all__ = ["FORMATS", "ExportError", "default_path", "export_run", "render"]


def _renderer(fmt: str) -> Callable[[RunData], bytes]:
    # Imported on demand: the EDF writer (edfio) loads only for EDF exports.
    if fmt == "json":
        from edxbench.reports.jsonfmt import render_json
        return render_json
    if fmt == "csv":
        from edxbench.reports.csvfmt import render_csv
        return render_csv
    if fmt == "findings":  # the interpretation as CSV, beside the measurements' CSV
        from edxbench.reports.csvfmt import render_findings_csv
        return render_findings_csv
    if fmt == "md":
        from edxbench.reports.markdown import render_markdown
        return render_markdown
    if fmt == "html":
        from edxbench.reports.html import render_html
        return render_html
    if fmt == "edf":
        from edxbench.reports.edf import render_edf
        return render_edf
    raise ExportError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")


def render(db: sqlite_utils.Database, run_id: str, fmt: str) -> bytes:
    """The export's bytes without writing a file (tests, stdout)."""
    renderer = _renderer(fmt)
    return renderer(load_run(db, run_id))


def default_path(run_id: str, fmt: str, directory: Path | None = None) -> Path:
    """`edxbench-<run id prefix>.<suffix>` in `directory` (default: the current one)."""
    if fmt not in SUFFIXES:
        raise ExportError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    return (directory or Path.cwd()) / f"edxbench-{run_id[:8]}{SUFFIXES[fmt]}"


def export_run(db: sqlite_utils.Database, run_id: str, fmt: str,
               out_path: Path | None = None) -> Path:
    """Write run `run_id` as `fmt` to `out_path` (default: `default_path`); return the path."""
    payload = render(db, run_id, fmt)
    target = Path(out_path) if out_path is not None else default_path(run_id, fmt)
    try:
        return write_private(target, payload)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
