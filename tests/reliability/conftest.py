"""Prints every figure the reliability parts recorded at the end of the session."""

from __future__ import annotations

import pytest

from tests.reliability.figures import FIGURES, FULL


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    mode = "full" if FULL else "reduced (CI); EDXBENCH_FULL=1 for the full counts"
    terminalreporter.section(f"reliability figures — {mode}")
    for part in sorted(FIGURES):
        for line in FIGURES[part]:
            terminalreporter.write_line(f"{part}: {line}")
