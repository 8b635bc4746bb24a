"""The edxbench terminal app: start a study, follow it live, review stored runs.

The app owns navigation, themes, help, the command palette and clean exits (quit,
SIGHUP, SIGTERM abort any running study first so the engine turns outputs off).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.data import DataSource, ProtocolEntry, StorageSource
from tui.keys import key_actions
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.start import StartScreen

if TYPE_CHECKING:
    from tui.screens.run import RunScreen

# The run, review, compare and bench screens import NumPy and the engine; they are
# imported when first opened so the start screen paints sooner (see tests/tui/perf_tui.py).

SessionFactory = Callable[..., Any]

GENERAL_HELP = ("edxbench runs scripted nerve-conduction studies on the bench. Everything "
                "works from the keyboard; the footer shows the keys for the current screen.")


def default_session_factory(*args: Any, **kwargs: Any) -> Any:
    """`edxbench.session.open_session`, imported only when a study starts."""
    from edxbench.session import open_session

    return open_session(*args, **kwargs)


def default_resume_factory(run_id: str, **kwargs: Any) -> Any:
    """`edxbench.session.open_resume_session`, imported only when a run is resumed."""
    from edxbench.session import open_resume_session

    return open_resume_session(run_id, **kwargs)


class EdxApp(App[int]):
    """Entry point for the terminal face; `edxbench` with no arguments runs this."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "edxbench"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,question_mark", "help", "Help", key_display="F1"),
        Binding("ctrl+t", "toggle_dark", "Light/dark", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, db_path: Path, bench_profile: str = "sim", fast: bool = False, *,
                 bench_config: Path | None = None, protocol_path: Path | None = None,
                 subject_id: str | None = None, source: DataSource | None = None,
                 session_factory: SessionFactory | None = None,
                 resume_factory: SessionFactory | None = None) -> None:
        """protocol_path + subject_id (from `edxbench run X --subject Y`) start at once."""
        super().__init__()
        self.db_path = Path(db_path)
        self.bench_profile = bench_profile
        self.fast = fast
        self.bench_config = bench_config
        self.initial_run = (Path(protocol_path), subject_id) if protocol_path and subject_id \
            else None
        self.source: DataSource = source or StorageSource(self.db_path)
        self.session_factory: SessionFactory = session_factory or default_session_factory
        self.resume_factory: SessionFactory = resume_factory or default_resume_factory
        self.hung_up = False
        self._protocols: list[ProtocolEntry] | None = None

    def on_mount(self) -> None:
        self.push_screen(StartScreen())
        self._install_signal_handlers()
        if self.initial_run is not None:
            path, subject = self.initial_run
            self.start_run(ProtocolEntry(path.stem, path.stem, path), subject)

    def open_session(self, protocol_path: Path, subject_id: str, **kwargs: Any) -> Any:
        """Compose a run the same way the headless face does (called on the worker)."""
        if self.bench_config is not None:
            kwargs["bench_config"] = self.bench_config
        return self.session_factory(protocol_path, subject_id, profile=self.bench_profile,
                                    db_path=self.db_path, fast=self.fast, **kwargs)

    def open_resume(self, run_id: str, **kwargs: Any) -> Any:
        """Continue a stored run on its own bench profile (called on the worker)."""
        if self.bench_config is not None:
            kwargs["bench_config"] = self.bench_config
        return self.resume_factory(run_id, db_path=self.db_path, fast=self.fast, **kwargs)

    def _install_signal_handlers(self) -> None:
        """A dropped SSH link sends SIGHUP: abort the run and leave, never spin or linger."""
        try:
            import asyncio

            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self._hang_up)
            loop.add_signal_handler(signal.SIGTERM, self._hang_up)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            pass  # not on the main thread (tests) or no such signal on this platform

    def _hang_up(self) -> None:
        self.hung_up = True
        self.abort_active_runs()
        self.exit(0)

    # ---- navigation used by the screens -----------------------------------------

    def start_run(self, protocol: ProtocolEntry, subject_id: str) -> None:
        from tui.screens.run import RunScreen

        self.push_screen(RunScreen(protocol, subject_id))

    def open_runs(self, status: str | None = None) -> None:
        from tui.screens.runs import RunsScreen

        if status is None:
            # One list screen for the app's life: composing and styling its widgets cost
            # more than reading the page. Its filters stay as the reviewer left them; it
            # reloads its page each time it is shown.
            if not self.is_screen_installed("runs"):
                self.install_screen(RunsScreen(), "runs")
            self.push_screen("runs")
            return
        screen = RunsScreen(status=status)
        # Read the first page while the screen composes: the list is there sooner.
        screen.prefetched()
        self.run_worker(lambda: screen.fetch_now(0, screen.filters), thread=True,
                        exit_on_error=False, group="runs-prefetch")
        self.push_screen(screen)

    def open_run_detail(self, run_id: str, start_step: str | None = None,
                        on_close: Callable[[Any], None] | None = None) -> None:
        from tui.screens.run_detail import RunDetailScreen

        screen = RunDetailScreen(run_id, start_step)
        screen.prefetching = True  # read the run while the screen composes
        self.run_worker(screen.fetch_now, thread=True, exit_on_error=False,
                        group="detail-prefetch")
        self.push_screen(screen, on_close)

    def open_interrupted(self) -> None:
        self.open_runs(status="interrupted")

    def open_compare(self, left_id: str, right_id: str) -> None:
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(left_id, right_id))

    def open_bench(self) -> None:
        from tui.screens.bench import BenchScreen

        self.push_screen(BenchScreen(self.bench_profile, self.bench_config))

    def resume_run(self, run_id: str, title: str = "", subject_id: str = "") -> None:
        from tui.screens.run import RunScreen

        entry = ProtocolEntry(run_id, title or f"run {run_id[:8]}", Path())
        self.push_screen(RunScreen(entry, subject_id or "?", resume_run_id=run_id))

    def protocol_list(self) -> list[ProtocolEntry]:
        """Protocols, read once (YAML parsing would otherwise compete with every page)."""
        if self._protocols is None:
            self._protocols = self.source.protocols()
        return self._protocols

    def run_finished(self, screen: RunScreen) -> None:
        """A run that ends while its screen is covered (help, palette) still gets noticed."""
        if self.screen is screen:
            return  # the screen's own summary says it
        status = screen.final_status or "failed"
        self.notify(f"Run {status}.", severity="information" if status == "completed"
                    else "warning", timeout=6)

    # ---- running studies -------------------------------------------------------

    def active_run_screens(self) -> list[RunScreen]:
        from tui.screens.run import RunScreen

        return [s for s in self.screen_stack if isinstance(s, RunScreen) and s.active]

    def abort_active_runs(self) -> None:
        for screen in self.active_run_screens():
            screen.abort_now()

    async def action_quit(self) -> None:
        """Quitting mid-study asks first, then aborts (outputs off) before leaving."""
        if not self.active_run_screens():
            self.exit(0)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.abort_active_runs()
                self.exit(0)

        self.push_screen(ConfirmScreen("A study is running. Abort it and quit?",
                                       yes_label="Abort and quit"), confirmed)

    # ---- help, themes, palette ---------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        screen = self.screen
        keys = [(k.keys, k.description if k.enabled else f"{k.description} (not now)")
                for k in key_actions(self, screen)]
        about = getattr(screen, "HELP", "") or ""
        title = f"{screen.sub_title or 'edxbench'} — help"
        self.push_screen(HelpScreen(title, f"{about}\n\n{GENERAL_HELP}".strip(), keys))

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key action of the screen (tui.keys), plus a few that have no key."""
        from tui.screens.run import RunScreen
        from tui.screens.runs import RunsScreen

        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Keys and what this screen does", self.action_help)
        yield SystemCommand("Light/dark theme", "Switch between light and dark",
                            self.action_toggle_dark)
        palette_only = ("help", "quit", "command_palette", "toggle_dark")
        for key in key_actions(self, screen):
            if not key.enabled or key.action in palette_only:
                continue
            yield SystemCommand(key.description, f"{screen.sub_title or 'this screen'} · key "
                                f"{key.keys}",
                                lambda node=key.node, action=key.action: node.run_action(action))
        running = isinstance(screen, RunScreen) and screen.active
        if not running and not isinstance(screen, StartScreen | RunsScreen):  # start has l
            yield SystemCommand("Past runs", "List stored runs, newest first", self.open_runs)
