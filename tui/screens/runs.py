"""Past runs, newest first, 200 at a time straight from SQLite.

Never loads the whole table: a page is one `LIMIT/OFFSET` query on a worker thread
(one extra row tells whether a next page exists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from tui.app import EdxApp

PAGE_SIZE = 200


class RunsScreen(Screen[None]):
    """Lists stored runs; Enter opens one."""

    CSS_PATH = "runs.tcss"
    SUB_TITLE = "past runs"
    HELP = ("Stored runs, newest first, 200 per page. Enter opens the selected run; n and p "
            "page; / searches protocol and subject; Esc goes back.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=True),
        Binding("n", "page(1)", "Next page"),
        Binding("p", "page(-1)", "Prev page"),
        Binding("slash", "search", "Search"),
        Binding("g", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    class Page(Message):
        def __init__(self, rows: list[dict[str, Any]], offset: int, has_more: bool,
                     error: str = "") -> None:
            super().__init__()
            self.rows = rows
            self.offset = offset
            self.has_more = has_more
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.page_offset = 0
        self.has_more = False
        self.search: str | None = None
        self.rows: list[dict[str, Any]] = []
        self.fetching = False

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="/ search protocol or subject, Enter", id="runs-search",
                    compact=True)
        yield RunsTable(id="runs")
        yield Static(id="runs-page")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RunsTable).focus()

    def on_screen_resume(self) -> None:
        """Also fires on first show; reloading on return picks up runs finished since."""
        if not self.fetching:
            self.load(self.page_offset)

    def load(self, offset: int) -> None:
        self.fetching = True
        self.query_one("#runs-page", Static).update(Text("loading…", style="dim"))
        self._fetch(max(0, offset), self.search)

    @work(thread=True, exit_on_error=False, exclusive=True, group="runs-page")
    def _fetch(self, offset: int, search: str | None) -> None:
        try:
            rows = self.edx.source.runs_page(offset, PAGE_SIZE + 1, search)
        except Exception as exc:
            self.post_message(self.Page([], offset, False, f"Could not read runs: {exc}"))
            return
        self.post_message(self.Page(rows[:PAGE_SIZE], offset, len(rows) > PAGE_SIZE))

    def on_runs_screen_page(self, message: Page) -> None:
        self.fetching = False
        self.rows = message.rows
        self.page_offset = message.offset
        self.has_more = message.has_more
        table = self.query_one(RunsTable)
        table.show_page(message.rows)
        info = self.query_one("#runs-page", Static)
        if message.error:
            info.update(Text(message.error, style="bold red"))
        elif not message.rows:
            info.update(Text("No runs stored yet." if not self.search else "No matching runs.",
                             style="dim"))
        else:
            page = message.offset // PAGE_SIZE + 1
            first, last = message.offset + 1, message.offset + len(message.rows)
            more = " · n: next page" if message.has_more else ""
            back = " · p: previous page" if message.offset else ""
            info.update(Text(f"page {page} · runs {first}–{last}{more}{back}", style="dim"))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            step = cast(int, parameters[0]) if parameters else 1
            return self.has_more if step > 0 else self.page_offset > 0
        if action == "open":
            return bool(self.rows)
        return True

    def action_page(self, step: int) -> None:
        if (step > 0 and self.has_more) or (step < 0 and self.page_offset > 0):
            self.load(self.page_offset + step * PAGE_SIZE)

    def action_reload(self) -> None:
        self.load(self.page_offset)

    def action_search(self) -> None:
        self.query_one("#runs-search", Input).focus()

    @on(Input.Submitted, "#runs-search")
    def _search(self, event: Input.Submitted) -> None:
        self.search = event.value.strip() or None
        self.query_one(RunsTable).focus()
        self.load(0)

    @on(DataTable.RowSelected, "#runs")
    def action_open(self) -> None:
        run_id = self.query_one(RunsTable).selected_run_id
        if run_id is not None:
            self.edx.open_run_detail(run_id)

    def action_back(self) -> None:
        search = self.query_one("#runs-search", Input)
        if search.has_focus:
            self.query_one(RunsTable).focus()
            return
        self.dismiss(None)
