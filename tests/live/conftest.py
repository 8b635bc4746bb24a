"""A private runtime directory per test (short: Unix socket paths hold 107 bytes); async
tests run through the TUI tests' own hook."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.conftest import pytest_pyfunc_call  # noqa: F401  (async tests, Pilot)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="edx-rt-"))
    monkeypatch.setenv("EDXBENCH_RUNTIME_DIR", str(path))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
