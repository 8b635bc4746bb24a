"""Past runs, newest first, 200 at a time straight from SQLite, with filters.

Never loads the whole table: a page is one `LIMIT/OFFSET` query on a worker thread
(one extra row tells whether a next page exists). Filters (text, status, protocol,
subject, start date, abnormal only) go to storage with the page request, so 100 000 runs stay fast.
Two runs marked with space open side by side; interrupted runs can be resumed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Header, Input, Select, Static

from tui.data import STATUSES, RunFilter, parse_dates
from tui.widgets.key_footer import KeyFooter
from tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from tui.app import EdxApp

PAGE_SIZE = 200
RESUMABLE = ("interrupted", "failed", "stopped")  # what edxbench.session will resume


class RunsScreen(Screen[None]):
    """Lists stored runs; Enter opens one, space marks two for comparison."""

    CSS_PATH = "runs.tcss"
    SUB_TITLE = "past runs"
    HELP = ("Stored runs, newest first, 200 per page. Enter opens the selected run; n and p "
            "page; / searches protocol, subject and run id; f jumps to the filters (status, "
            "protocol, subject, start date as YYYY-MM-DD or FROM..TO); a shows abnormal runs "
            "only. Space marks up to two runs and c "
            "opens them side by side. R resumes an interrupted, failed or stopped run. "
            "Esc goes back.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=True),
        Binding("n", "page(1)", "Next page"),
        Binding("p", "page(-1)", "Prev page"),
        Binding("slash", "search", "Search"),
        Binding("f", "filters", "Filters", show=False),
        Binding("a", "abnormal", "Abnormal"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("R", "resume", "Resume"),
        Binding("g", "reload", "Reload", show=False),
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

    class Protocols(Message):
        def __init__(self, protocols: list[tuple[str, str]]) -> None:
            super().__init__()
            self.protocols = protocols

    def __init__(self, status: str | None = None) -> None:
        super().__init__()
        self.page_offset = 0
        self.has_more = False
        self.filters = RunFilter(status=status)
        self.rows: list[dict[str, Any]] = []
        self.fetching = False
        self.marked: list[str] = []

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    @property
    def search(self) -> str | None:
        return self.filters.search

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="runs-filter-text"):
            yield Input(placeholder="/ search protocol, subject or run id, Enter",
                        id="runs-search", compact=True)
            yield Input(placeholder="subject id", id="runs-subject", compact=True)
            yield Input(placeholder="date YYYY-MM-DD[..]", id="runs-dates", compact=True)
        with Horizontal(id="runs-filter-select"):
            yield Select([(s, s) for s in STATUSES], prompt="any status", id="runs-status",
                         compact=True, value=self.filters.status or Select.NULL)
            yield Select([], prompt="any protocol", id="runs-protocol", compact=True)
            yield Checkbox("abnormal only", id="runs-abnormal", compact=True)
        yield RunsTable(id="runs")
        yield Static(id="runs-page")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(RunsTable).focus()
        self._load_protocols()

    def on_screen_suspend(self) -> None:
        """Leave no stale page to be painted when the screen is shown again."""
        self.query_one(RunsTable).clear()

    def on_screen_resume(self) -> None:
        """Also fires on first show; reloading on return picks up runs finished since."""
        if not self.fetching:
            self.load(self.page_offset)

    def load(self, offset: int) -> None:
        self.fetching = True
        self.query_one("#runs-page", Static).update(Text("loading…", style="dim"))
        self._fetch(max(0, offset), self.filters)

    @work(thread=True, exit_on_error=False, exclusive=True, group="runs-page")
    def _fetch(self, offset: int, filters: RunFilter) -> None:
        self.fetch_now(offset, filters)

    def fetch_now(self, offset: int, filters: RunFilter) -> None:
        """Blocking page read (worker threads only); the result arrives as a Page message."""
        try:
            rows = self.edx.source.runs_page(offset, PAGE_SIZE + 1, filters)
        except Exception as exc:
            self.post_message(self.Page([], offset, False, f"Could not read runs: {exc}"))
            return
        self.post_message(self.Page(rows[:PAGE_SIZE], offset, len(rows) > PAGE_SIZE))

    def prefetched(self) -> None:
        """The app started the first page's read before this screen was mounted."""
        self.fetching = True

    @work(thread=True, exit_on_error=False, group="runs-protocols")
    def _load_protocols(self) -> None:
        try:
            protocols = [(p.title, p.id) for p in self.edx.protocol_list()]
        except Exception:
            protocols = []  # the filter stays at "any protocol"
        self.post_message(self.Protocols(protocols))

    def on_runs_screen_protocols(self, message: Protocols) -> None:
        self.query_one("#runs-protocol", Select).set_options(message.protocols)

    def on_runs_screen_page(self, message: Page) -> None:
        self.fetching = False
        self.rows = message.rows
        self.page_offset = message.offset
        self.has_more = message.has_more
        table = self.query_one(RunsTable)
        table.show_page(message.rows, tuple(self.marked))
        info = self.query_one("#runs-page", Static)
        if message.error:
            info.update(Text(message.error, style="bold red"))
        elif not message.rows:
            info.update(Text("No matching runs." if self.filters.active
                             else "No runs stored yet.", style="dim"))
        else:
            page = message.offset // PAGE_SIZE + 1
            first, last = message.offset + 1, message.offset + len(message.rows)
            more = " · n: next page" if message.has_more else ""
            back = " · p: previous page" if message.offset else ""
            marks = f" · {len(self.marked)} marked" if self.marked else ""
            info.update(Text(f"page {page} · runs {first}–{last}{more}{back}{marks}",
                             style="dim"))
        self.refresh_bindings()

    def _set_filters(self, **changes: Any) -> None:
        new = replace(self.filters, **changes)
        if new != self.filters:
            self.filters = new
            self.load(0)

    def _selected_row(self) -> dict[str, Any] | None:
        run_id = self.query_one(RunsTable).selected_run_id
        return next((r for r in self.rows if str(r["id"]) == run_id), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            step = cast(int, parameters[0]) if parameters else 1
            return self.has_more if step > 0 else self.page_offset > 0
        if action in ("open", "mark"):
            return bool(self.rows)
        if action == "compare":
            return len(self.marked) == 2 or (len(self.marked) == 1 and bool(self.rows))
        if action == "resume":
            row = self._selected_row()
            return row is not None and row.get("status") in RESUMABLE
        return True

    def action_page(self, step: int) -> None:
        if (step > 0 and self.has_more) or (step < 0 and self.page_offset > 0):
            self.load(self.page_offset + step * PAGE_SIZE)

    def action_reload(self) -> None:
        self.load(self.page_offset)

    def action_search(self) -> None:
        self.query_one("#runs-search", Input).focus()

    def action_filters(self) -> None:
        self.query_one("#runs-status", Select).focus()

    def action_abnormal(self) -> None:
        box = self.query_one("#runs-abnormal", Checkbox)
        box.value = not box.value  # Checkbox.Changed applies it

    @on(Input.Submitted, "#runs-search")
    def _search(self, event: Input.Submitted) -> None:
        self.query_one(RunsTable).focus()
        self._set_filters(search=event.value.strip() or None)

    @on(Input.Submitted, "#runs-subject")
    def _subject(self, event: Input.Submitted) -> None:
        self.query_one(RunsTable).focus()
        self._set_filters(subject_id=event.value.strip() or None)

    @on(Input.Submitted, "#runs-dates")
    def _dates(self, event: Input.Submitted) -> None:
        try:
            since, until = parse_dates(event.value)
        except ValueError as exc:
            self.notify(str(exc), title="Date filter", severity="error")
            return
        self.query_one(RunsTable).focus()
        self._set_filters(since=since, until=until)

    @on(Select.Changed, "#runs-status")
    def _status(self, event: Select.Changed) -> None:
        self._set_filters(status=None if event.value is Select.NULL else str(event.value))

    @on(Select.Changed, "#runs-protocol")
    def _protocol(self, event: Select.Changed) -> None:
        self._set_filters(protocol_id=None if event.value is Select.NULL else str(event.value))

    @on(Checkbox.Changed, "#runs-abnormal")
    def _abnormal(self, event: Checkbox.Changed) -> None:
        self._set_filters(abnormal_only=event.value)

    @on(DataTable.RowSelected, "#runs")
    def action_open(self) -> None:
        run_id = self.query_one(RunsTable).selected_run_id
        if run_id is not None:
            self.edx.open_run_detail(run_id)

    def action_mark(self) -> None:
        """Toggle the mark; a third mark drops the oldest, so two stay marked."""
        table = self.query_one(RunsTable)
        run_id = table.selected_run_id
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
            table.set_marked(run_id, False)
        else:
            self.marked.append(run_id)
            table.set_marked(run_id, True)
            if len(self.marked) > 2:
                table.set_marked(self.marked.pop(0), False)
        self.refresh_bindings()

    def action_compare(self) -> None:
        pair = list(self.marked)
        selected = self.query_one(RunsTable).selected_run_id
        if len(pair) == 1 and selected is not None and selected not in pair:
            pair.append(selected)
        if len(pair) == 2:
            self.edx.open_compare(pair[0], pair[1])
        else:
            self.notify("Mark two runs with space first.", severity="warning")

    def action_resume(self) -> None:
        row = self._selected_row()
        if row is not None and row.get("status") in RESUMABLE:
            self.edx.resume_run(str(row["id"]), str(row.get("protocol_title") or ""),
                                str(row.get("subject_id") or ""))

    def action_back(self) -> None:
        if not isinstance(self.focused, RunsTable):
            self.query_one(RunsTable).focus()
            return
        self.dismiss(None)
