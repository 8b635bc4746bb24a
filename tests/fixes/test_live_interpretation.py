"""A run on the engine host delivers its interpretation to the attached terminal.

Interpretation was not registered with the wire codec, so the host's sender refused it
and every live run warned "interpretation not delivered"."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from edxbench.live.spawn import start_host
from engine import events as ev
from tests.conftest import ROOT
from tests.live.test_host import Terminal

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="edx-rt-"))  # short: socket paths hold 107 bytes
    monkeypatch.setenv("EDXBENCH_RUNTIME_DIR", str(path))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_live_run_delivers_its_interpretation(runtime: Path, tmp_path: Path) -> None:
    ready = start_host(db_path=tmp_path / "edx.db",
                       protocol_path=ROOT / "protocols" / "median_motor.yaml",
                       subject_id="normal-adult", fast=True)
    try:
        terminal = Terminal(ready["socket"])
        while True:
            event = terminal.next(ev.PromptRequested | ev.RunFinished, timeout=60)
            if isinstance(event, ev.RunFinished):
                break
            prompt = event.prompt
            value = {"review": "accept", "choice": prompt.default}.get(prompt.kind,
                                                                       prompt.default)
            terminal.live.prompter.answer(prompt.id, value)
        assert event.status == "completed", event.reason
        [interpretation] = [e for e in terminal.seen if isinstance(e, ev.Interpretation)]
        assert interpretation.document["impression"]
        assert not [t for t in terminal.notices() if "interpretation" in t], terminal.notices()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(ready["pid"], signal.SIGTERM)
