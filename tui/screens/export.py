"""Exporting one stored run: pick a format and a folder, the file is written there.

The formats and file names are the command line's (`edxbench export`): the same
`edxbench.reports.export_run` writes them, owner-readable only, on a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from tui.app import EdxApp

FORMAT_NAMES = (("html", "HTML report (self-contained, traces as SVG)"),
                ("md", "Markdown report"),
                ("json", "JSON (every value, limit and provenance)"),
                ("csv", "CSV measurements"),
                ("edf", "EDF+ traces (raw samples, stimulus annotations)"))


class ExportScreen(ModalScreen[Path | None]):
    """Dismisses with the written file's path, or None when cancelled."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    #export-box { width: 72; max-width: 95%; height: auto; border: thick $primary;
                  background: $surface; padding: 0 1; }
    #export-formats { height: auto; max-height: 7; }
    #export-status { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    class Written(Message):
        def __init__(self, path: Path | None, error: str = "") -> None:
            super().__init__()
            self.path = path
            self.error = error

    def __init__(self, run_id: str, directory: Path | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.directory = directory or Path.cwd()
        self.busy = False

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static(Text.assemble(
                ("Export run ", "bold"), (self.run_id, "bold"),
                "\nFolder (shift+Tab edits it) and format; Enter writes the file:"))
            yield Input(str(self.directory), id="export-folder", compact=True)
            yield OptionList(*(Option(f"{fmt:<5} {name}", id=fmt) for fmt, name in FORMAT_NAMES),
                             id="export-formats", markup=False)
            yield Static("", id="export-status")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the folder field exports in the highlighted format."""
        event.stop()
        formats = self.query_one(OptionList)
        index = formats.highlighted if formats.highlighted is not None else 0
        self._export(formats.get_option_at_index(index).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._export(event.option.id)

    def _export(self, fmt: str | None) -> None:
        if self.busy or fmt is None:
            return
        folder = Path(self.query_one(Input).value.strip() or ".").expanduser()
        self.busy = True
        self.query_one("#export-status", Static).update(Text("writing…", style="dim"))
        self._write(fmt, folder)

    @work(thread=True, exit_on_error=False, group="export")
    def _write(self, fmt: str, folder: Path) -> None:
        try:
            if not folder.is_dir():
                raise NotADirectoryError(f"{folder} is not a folder")
            path = self.edx.source.export_run(self.run_id, fmt, folder)
        except Exception as exc:
            self.post_message(self.Written(None, str(exc) or type(exc).__name__))
            return
        self.post_message(self.Written(path))

    def on_export_screen_written(self, message: Written) -> None:
        self.busy = False
        if message.path is None:
            self.query_one("#export-status", Static).update(
                Text(f"Not exported: {message.error}", style="bold red"))
            return
        self.dismiss(message.path)

    def action_cancel(self) -> None:
        self.dismiss(None)
