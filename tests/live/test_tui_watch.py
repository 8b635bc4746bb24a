"""The real app on a live run: it watches while another terminal holds control, takes
control once it is free, and leaving the app leaves the run waiting (never aborted)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

from edxbench.live import app_factories
from edxbench.live.client import live_runs
from edxbench.live.spawn import start_host
from engine import events as ev
from tests.conftest import ROOT
from tests.live.test_host import Terminal, host_gone
from tests.tui.helpers import prompt_of, screen_of, screen_text, wait_for
from tui.app import EdxApp
from tui.screens.run import RunScreen
from tui.screens.start import StartScreen

pytestmark = pytest.mark.timeout(120)


async def test_watch_then_take_control_then_leave(runtime: Path, tmp_path: Path) -> None:
    db = tmp_path / "edx.db"
    ready = start_host(db_path=db, protocol_path=ROOT / "protocols" / "median_motor.yaml",
                       subject_id="normal-adult", fast=True)
    try:
        holder = Terminal(ready["socket"])
        first = holder.next(ev.PromptRequested)
        app = EdxApp(db, fast=True, **app_factories())
        async with app.run_test(size=(100, 32)) as pilot:
            start = await screen_of(pilot, StartScreen)
            await wait_for(pilot, lambda: start.live, what="live run listed")
            await pilot.press("r")  # control is held: the app watches
            run = await screen_of(pilot, RunScreen, timeout=20)
            await wait_for(pilot, lambda: prompt_of(app) and prompt_of(app).id == first.prompt.id,
                           what="the waiting prompt, replayed")
            assert run.session.watching
            await pilot.press("enter")
            await wait_for(pilot, lambda: "watching" in screen_text(app), what="refusal")
            assert holder.live.pending == first.prompt  # nothing reached the host
            assert not [e for e in holder.drain(0.3) if isinstance(e, ev.PromptAnswered)]

            holder.live.prompter.answer(first.prompt.id, first.prompt.default)
            await wait_for(pilot, lambda: (p := prompt_of(app)) is None or p.id != first.prompt.id,
                           what="the answered prompt leaves the watcher")
            second = holder.next(ev.PromptRequested)
            holder.live.close()  # the controlling terminal goes away
            await wait_for(pilot, lambda: "nobody holds control" in screen_text(app),
                           what="control is free")
            await pilot.press("t")
            await wait_for(pilot, lambda: not run.session.watching, what="control taken")
            await wait_for(pilot, lambda: prompt_of(app) and prompt_of(app).id == second.prompt.id,
                           what="second prompt")
            await pilot.press("enter")  # this terminal's answer now counts
            await wait_for(pilot, lambda: (p := prompt_of(app)) is not None
                           and p.id != second.prompt.id, timeout=20, what="third prompt")
        # the app has gone: the run waits for a terminal, it is not aborted
        [info] = live_runs(db)
        assert (info["state"], info["controlled"]) == ("running", False)
        assert info["waiting"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(ready["pid"], signal.SIGTERM)
    assert host_gone(ready["pid"])


async def test_attach_on_start_detach_and_reattach(runtime: Path, tmp_path: Path) -> None:
    """`edxbench attach RUN` opens the app on the run; d goes back to the start screen and
    leaves the run waiting; r there attaches again."""
    db = tmp_path / "edx.db"
    ready = start_host(db_path=db, protocol_path=ROOT / "protocols" / "median_motor.yaml",
                       subject_id="normal-adult", fast=True)
    try:
        app = EdxApp(db, fast=True, **app_factories())
        app.attach_on_start = (ready["run_id"], False)  # what `edxbench attach` sets
        async with app.run_test(size=(100, 32)) as pilot:
            run = await screen_of(pilot, RunScreen, timeout=20)
            asked = await wait_for(pilot, lambda: prompt_of(app), what="the waiting prompt")
            assert not run.session.watching
            await pilot.press("d")
            start = await screen_of(pilot, StartScreen)
            await wait_for(pilot, lambda: not live_runs(db)[0]["controlled"], what="detached")
            await wait_for(pilot, lambda: start.live, what="listed again")
            await pilot.press("r")
            again = await screen_of(pilot, RunScreen, timeout=20)
            assert again is not run
            await wait_for(pilot, lambda: (p := prompt_of(app)) is not None and p.id == asked.id,
                           what="the same prompt, still waiting")
            assert not again.session.watching
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(ready["pid"], signal.SIGTERM)
    assert host_gone(ready["pid"])
