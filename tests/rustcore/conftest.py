"""Guard: without a built extension, `import rustcore` from the repo root quietly finds the
crate directory as an empty namespace package. Say so instead of failing obscurely."""

import pytest

import rustcore

BUILT = hasattr(rustcore, "measure_sweep")


@pytest.fixture(autouse=True)
def _rustcore_is_built() -> None:
    if not BUILT:
        pytest.fail(
            "the rustcore extension is not built (`import rustcore` found "
            f"{getattr(rustcore, '__path__', rustcore)!r}, which has no measure_sweep); "
            "run `make install` (or `pip install -e .`) and retry",
            pytrace=False,
        )
