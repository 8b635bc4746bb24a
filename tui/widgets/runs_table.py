"""One page of past runs; the screen pages through SQLite, this only shows rows."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from tui.widgets.run_summary import STATUS_STYLES

# Fixed widths: DataTable then never measures cells, which keeps a 200-row page cheap.
COLUMNS = (("◆", 1), ("Date (UTC)", 16), ("Protocol", 22), ("Subject", 12), ("Status", 11),
           ("Abn.", 4))


def short_time(iso: str | None) -> str:
    """'2025-01-31T09:15:02.123+00:00' → '2025-01-31 09:15'."""
    if not iso:
        return ""
    return iso[:16].replace("T", " ")


class RunsTable(DataTable):
    """Row keys are run ids, so selection survives re-sorting and paging; ◆ marks the
    runs picked for side-by-side comparison."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._mark_column: Any = None

    def on_mount(self) -> None:
        keys = [self.add_column(label, width=width) for label, width in COLUMNS]
        self._mark_column = keys[0]

    def show_page(self, rows: list[dict[str, Any]], marked: tuple[str, ...] = ()) -> None:
        self.clear()
        for row in rows:
            status = str(row.get("status") or "")
            abnormal = int(row.get("abnormal_count") or 0)
            self.add_row(
                Text("◆", style="bold") if str(row["id"]) in marked else "",
                short_time(row.get("started_at")),
                row.get("protocol_title") or row.get("protocol_id") or "",
                row.get("subject_id") or "",
                Text(status, style=STATUS_STYLES.get(status, "")),
                Text(str(abnormal), style="bold red" if abnormal else "dim", justify="right"),
                key=str(row["id"]),
            )
        if rows:
            self.move_cursor(row=0, animate=False)

    def set_marked(self, run_id: str, marked: bool) -> None:
        with suppress(CellDoesNotExist):  # the row is on another page
            self.update_cell(run_id, self._mark_column, Text("◆", style="bold") if marked else "")

    @property
    def selected_run_id(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)
