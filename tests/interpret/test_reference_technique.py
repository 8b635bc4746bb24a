"""A reference limit applies only when the technique matches its entry: distance, site role
or segment, recording and the subject's age band. Checked on the shipped tables."""

from __future__ import annotations

from engine.reference import flagged, load_references

TABLES = load_references(("motor-nerve-conduction", "sensory-nerve-conduction",
                          "carpal-tunnel-comparisons", "needle-emg"))


def test_distal_latency_limit_needs_the_7_cm_distance_and_the_distal_site() -> None:
    def find(distance: float | None, role: str = "distal") -> str | None:
        entry = TABLES.find(nerve="median", recording="APB", quantity="onset_latency",
                            site_role=role, distance_mm=distance)
        return entry.id if entry else None

    assert find(70) == find(70.4) == "median-apb-distal-latency"
    assert find(80) is None and find(None) is None and find(70, "proximal") is None
    late = flagged("onset_latency", 5.0, "ms", "wrist", None)
    assert late.outcome == "unflagged"  # no matching entry: shown, not judged


def test_sensory_peak_latency_limit_needs_its_distance_and_recording() -> None:
    assert TABLES.find(nerve="median", recording="D2", quantity="peak_latency",
                       distance_mm=130) is not None
    assert TABLES.find(nerve="median", recording="D2", quantity="peak_latency",
                       distance_mm=140) is None
    assert TABLES.find(nerve="median", recording="D4", quantity="peak_latency",
                       distance_mm=130) is None


def test_unit_mismatch_and_unconfirmed_entries_are_not_flagged() -> None:
    amplitude = TABLES.find(nerve="median", recording="D2", quantity="amplitude",
                            distance_mm=130)
    assert amplitude is not None and amplitude.unconfirmed
    m = flagged("amplitude", 5.0, "µV", "wrist", amplitude)
    assert m.outcome == "unflagged" and "unconfirmed" in m.note and m.lower == 20
    wrong_unit = flagged("amplitude", 0.005, "mV", "wrist", amplitude)
    assert wrong_unit.outcome == "unflagged" and "differs" in wrong_unit.note


def test_needle_muap_limits_are_per_muscle() -> None:
    deltoid = TABLES.find(nerve="needle", recording="deltoid", quantity="muap_duration")
    assert deltoid is not None and (deltoid.lower, deltoid.upper) == (7.8, 13.0)
    assert TABLES.find(nerve="needle", recording="triceps", quantity="muap_duration") is None
