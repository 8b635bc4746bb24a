"""The bench profile's instruments: who answers, how they are set, whether they connect.

Opening a bench can take seconds (the simulated bench starts a process; a real one waits
on VISA timeouts), so it happens on a worker that opens, reads and closes again; the
screen only ever shows a finished snapshot or the error that stopped it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from tui.app import EdxApp


class BenchScreen(Screen[None]):
    """Instruments with identity and connection state; r checks the bench again."""

    CSS_PATH = "bench.tcss"
    SUB_TITLE = "bench"
    HELP = ("The bench profile's instruments. The bench is opened, each instrument's "
            "identity (*IDN?) and settings are read, and the bench is closed again with all "
            "outputs off. r checks again; Esc goes back.")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "check", "Check again"),
        Binding("escape", "back", "Back"),
    ]

    class Checked(Message):
        def __init__(self, info: dict[str, Any] | None, error: str = "") -> None:
            super().__init__()
            self.info = info
            self.error = error

    def __init__(self, profile: str, config: Path | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.config = config
        self.checking = False
        self.info: dict[str, Any] | None = None
        self.error = ""

    @property
    def edx(self) -> EdxApp:
        return cast("EdxApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="bench-state")
        yield DataTable(id="bench-instruments", cursor_type="row")
        with VerticalScroll(id="bench-settings-box"):
            yield Static(id="bench-settings")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#bench-instruments", DataTable)
        table.add_columns("Role", "State", "Identity (*IDN?)")
        table.border_title = f"profile {self.profile}"
        self.query_one("#bench-settings-box").border_title = "settings snapshot"
        table.focus()
        self.action_check()

    def action_check(self) -> None:
        if self.checking:
            return
        self.checking = True
        self.query_one("#bench-state", Static).update(
            Text(f"Opening bench profile '{self.profile}'…", style="dim"))
        self.refresh_bindings()
        self._check()

    @work(thread=True, exit_on_error=False, exclusive=True, group="bench")
    def _check(self) -> None:
        try:
            info = self.edx.source.bench_info(self.profile, self.config)
        except Exception as exc:
            self.post_message(self.Checked(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Checked(info))

    def on_bench_screen_checked(self, message: Checked) -> None:
        self.checking = False
        self.info, self.error = message.info, message.error
        table = self.query_one("#bench-instruments", DataTable)
        table.clear()
        state = self.query_one("#bench-state", Static)
        settings = self.query_one("#bench-settings", Static)
        if message.info is None:
            state.update(Text.assemble(("not connected", "bold red"), " — ", message.error))
            table.add_row("bench", Text("error", style="bold red"), message.error)
            settings.update("")
        else:
            info = message.info
            identities: dict[str, str] = info.get("identities") or {}
            for role, idn in identities.items():
                ok = bool(idn)
                table.add_row(role, Text("connected" if ok else "no answer",
                                         style="green" if ok else "bold red"), idn or "–")
            state.update(Text.assemble(
                ("connected", "bold green"), f" · profile {info.get('profile', self.profile)} "
                f"({info.get('kind', '?')}) · {len(identities)} instruments · closed again, "
                "outputs off"))
            settings.update(Text(json.dumps(info.get("settings") or {}, indent=2,
                                            sort_keys=True, default=str)))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check":
            return not self.checking
        return True

    def action_back(self) -> None:
        self.dismiss(None)
