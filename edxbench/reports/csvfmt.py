"""The CSV export: one row per measurement, for spreadsheets and R/pandas.

Values are written with `repr` precision and empty cells for missing values, so a
round trip through a spreadsheet loses nothing the database knew.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from edxbench.reports.model import RunData

COLUMNS = ("run_id", "step_id", "site", "name", "value", "unit", "lower", "upper", "outcome",
           "reference_id", "citation")


def render_csv(data: RunData) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for m in data.measurements:
        row = {**m, "run_id": data.run_id}
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = repr(value) if isinstance(value, float) else str(value)
    # A leading =, +, - or @ makes spreadsheets evaluate a cell; text fields get a quote.
    if not isinstance(value, int | float) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


FINDING_COLUMNS = ("run_id", "kind", "rule", "title", "muscle", "evidence", "unconfirmed",
                   "limits_unconfirmed", "citation")


def render_findings_csv(data: RunData) -> bytes:
    """The interpretation as rows: the localisation, nature and impression, then one row
    per criterion that fired (muscle findings included), evidence joined by ' | '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FINDING_COLUMNS)
    doc = data.interpretation or {}
    where = doc.get("localisation") or {}
    summary = (("localisation", f"{where.get('level', '')}: {where.get('site', '')}"),
               ("nature", doc.get("nature", "")), ("impression", doc.get("impression", "")))
    for kind, text in summary if doc else ():
        writer.writerow([_cell(v) for v in (data.run_id, kind, "", text, "", "", "", "", "")])
    for f in doc.get("fired", []):
        writer.writerow([_cell(v) for v in (
            data.run_id, "criterion", f["rule"], f["title"], f.get("muscle", ""),
            " | ".join(f.get("evidence", [])), bool(f.get("unconfirmed")),
            bool(f.get("limits_unconfirmed")), f.get("citation", ""))])
    return buffer.getvalue().encode("utf-8")

