"""The accuracy table (benchmarks/accuracy_table.py) asserted loosely: errors shrink with
SNR, and at SNR >= 100 onsets are within ~120 µs, amplitudes within 3 % (p95), velocity
within 2 %. The onset threshold is max(4 noise SD, 1 % amplitude), so the onset is biased
late by the time the lobe takes to reach it: that bias is what the table shows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "accuracy_table", Path(__file__).resolve().parents[2] / "benchmarks" / "accuracy_table.py"
)
accuracy_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(accuracy_table)


def test_accuracy_table_errors_are_small_at_good_snr_and_grow_as_it_falls() -> None:
    rows = {r["snr"]: r for r in accuracy_table.table(trials=60, snrs=(1000, 100, 10))}
    for snr in (1000, 100):
        assert rows[snr]["acceptable"] == 1.0
        assert rows[snr]["onset_p95_us"] < 120
        assert rows[snr]["amp_p95_pct"] < 3.0
        assert rows[snr]["cv_p95_pct"] < 2.0
    assert rows[10]["onset_median_us"] > rows[1000]["onset_median_us"]
    assert rows[10]["amp_median_pct"] > rows[1000]["amp_median_pct"]
