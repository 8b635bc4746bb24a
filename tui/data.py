"""Where the app gets protocols, subjects and stored runs.

Screens talk to a `DataSource` instead of importing engine, storage and instruments
directly, so tests can hand in a fake and the heavy imports happen only when needed.
Every storage call opens its own SQLite connection on the calling (worker) thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

STATUSES = ("completed", "interrupted", "failed", "stopped", "aborted", "running")


@dataclass(frozen=True)
class ProtocolEntry:
    id: str
    title: str
    path: Path


@dataclass(frozen=True)
class RunFilter:
    """What the review list is narrowed to; empty fields mean "any"."""

    search: str | None = None
    status: str | None = None
    protocol_id: str | None = None
    subject_id: str | None = None
    abnormal_only: bool = False
    since: date | None = None  # whole days of the stored (UTC) start time, inclusive
    until: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.search or self.status or self.protocol_id or self.subject_id
                    or self.abnormal_only or self.since or self.until)

    def matches(self, row: dict[str, Any]) -> bool:
        """The exact test, for rows storage could only narrow down."""
        return ((not self.status or row.get("status") == self.status)
                and (not self.protocol_id or row.get("protocol_id") == self.protocol_id)
                and (not self.subject_id or row.get("subject_id") == self.subject_id)
                and (not self.abnormal_only or int(row.get("abnormal_count") or 0) > 0)
                and (not self.since or str(row.get("started_at", ""))[:10]
                     >= self.since.isoformat())
                and (not self.until or str(row.get("started_at", ""))[:10]
                     <= self.until.isoformat()))


def parse_dates(text: str) -> tuple[date | None, date | None]:
    """'2026-11-01', '2026-11-01..2026-11-24', '..2026-11-24' or '2026-11-01..' → days.

    Raises ValueError with a message for the screen."""
    text = text.strip()
    if not text:
        return None, None
    first, sep, last = text.partition("..")
    try:
        since = date.fromisoformat(first.strip()) if first.strip() else None
        until = date.fromisoformat(last.strip()) if last.strip() else None
    except ValueError:
        raise ValueError(f"dates are YYYY-MM-DD or FROM..TO, not {text!r}") from None
    if not sep:
        until = since
    if since and until and since > until:
        raise ValueError(f"{since} is after {until}")
    return since, until


class DataSource(Protocol):
    def protocols(self) -> list[ProtocolEntry]: ...

    def subjects(self) -> list[str]: ...

    def runs_page(self, offset: int, limit: int, filters: RunFilter) -> list[dict[str, Any]]: ...

    def run(self, run_id: str) -> dict[str, Any]: ...

    def trace(self, trace_id: Any) -> Any: ...

    def interrupted_runs(self) -> list[str]: ...

    def bench_info(self, profile: str, config: Path | None) -> dict[str, Any]: ...

    def save_marker_edit(self, run_id: str, trace_id: int, marker: str, new_s: float,
                         reason: str) -> MarkerSaved: ...

    def latest_bench_check(self, profile: str) -> dict[str, Any] | None: ...

    def export_run(self, run_id: str, fmt: str, folder: Path) -> Path: ...

    def run_bench_check(self, profile: str, config: Path | None, fast: bool,
                        on_event: Any = None) -> Any: ...


@dataclass(frozen=True)
class MarkerSaved:
    """A stored marker edit: the trace's markers now and its measurements, revised."""

    edit_id: int
    markers: dict[str, float | None]
    measurements: list[dict[str, Any]]  # the whole run's, revisions applied
    revised: int = 0  # measurements this edit revised (the trace's and derived ones)


def current_markers(measures: dict[str, Any], edits: list[dict[str, Any]],
                    trace_id: Any) -> dict[str, float | None]:
    """Marker times (s) of a trace: rustcore's, then the operator's latest edit of each."""
    def finite(value: Any) -> float | None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if number == number else None

    markers = {"onset": finite(measures.get("onset")),
               "peak": finite(measures.get("neg_peak_latency"))}
    for edit in edits:
        if edit.get("trace_id") == trace_id:
            markers[str(edit["marker"])] = finite(edit.get("new_s"))
    return markers


class StorageSource:
    """The real thing: engine catalog, instruments' subjects, storage queries."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    def protocols(self) -> list[ProtocolEntry]:
        from engine.catalog import list_protocols

        return [ProtocolEntry(p.id, p.title, Path(p.path)) for p in list_protocols()]

    def subjects(self) -> list[str]:
        from edxbench.session import available_subjects

        return list(available_subjects())

    def _query(self, name: str, *args: Any, **kwargs: Any) -> Any:
        from storage import queries
        from storage.database import open_database

        db = open_database(self.db_path)
        try:
            return getattr(queries, name)(db, *args, **kwargs)
        finally:
            db.close()

    def runs_page(self, offset: int, limit: int, filters: RunFilter) -> list[dict[str, Any]]:
        """One page from SQLite; every filter runs in SQL."""
        return self._query("list_runs", limit=limit, offset=offset, search=filters.search,
                           status=filters.status, protocol_id=filters.protocol_id,
                           subject_id=filters.subject_id,
                           abnormal_only=bool(filters.abnormal_only),
                           since=filters.since, until=filters.until)

    def run(self, run_id: str) -> dict[str, Any]:
        """The run in full (storage.queries.get_run) with its current interpretation."""
        from storage import queries
        from storage.database import open_database

        db = open_database(self.db_path)
        try:
            run = queries.get_run(db, run_id)
            if run is not None:
                run["interpretation"] = queries.get_interpretation(db, run_id)
            return run
        finally:
            db.close()

    def trace(self, trace_id: Any) -> Any:
        return self._query("load_trace", trace_id)

    def interrupted_runs(self) -> list[str]:
        """Marks runs whose engine died as interrupted (edxbench.session) and lists them."""
        from edxbench.session import detect_interrupted
        from storage.database import open_database

        db = open_database(self.db_path)
        try:
            detect_interrupted(db)
        finally:
            db.close()
        rows = self._query("list_runs", limit=50, offset=0, status="interrupted")
        return [str(r["id"]) for r in rows]

    def export_run(self, run_id: str, fmt: str, folder: Path) -> Path:
        """Write one run as `edxbench export` would, into `folder`; returns the file."""
        from edxbench.reports import default_path, export_run
        from storage.database import open_database

        db = open_database(self.db_path)
        try:
            return export_run(db, run_id, fmt, default_path(run_id, fmt, folder))
        finally:
            db.close()

    def latest_bench_check(self, profile: str) -> dict[str, Any] | None:
        """The newest finished bench check of the profile (storage.queries), or None."""
        return self._query("latest_bench_check", profile)

    def run_bench_check(self, profile: str, config: Path | None, fast: bool,
                        on_event: Any = None) -> Any:
        """Run the bench validation as a stored run (blocking: worker threads only);
        `on_event` sees each engine event, on the engine's thread."""
        from edxbench.benchcheck import run_bench_check

        return run_bench_check(profile, db_path=self.db_path, fast=fast, bench_config=config,
                               subscribers=[on_event] if on_event is not None else ())

    def bench_info(self, profile: str, config: Path | None) -> dict[str, Any]:
        """Open the bench, read who answers and how it is set, close it again."""
        from instruments.bench import open_bench
        from instruments.clock import FastClock

        bench = open_bench(profile, config_path=config, clock=FastClock())
        try:
            return {"profile": bench.profile.name, "kind": bench.profile.kind,
                    "identities": bench.identities(), "settings": bench.settings_snapshot()}
        finally:
            bench.close()

    def save_marker_edit(self, run_id: str, trace_id: int, marker: str, new_s: float,
                         reason: str) -> MarkerSaved:
        """Re-measure the trace with the operator's markers and store edit, revisions and
        audit event together (one transaction); raises ValueError with a one-line reason."""
        import getpass

        from engine.events import utc_now
        from engine.remeasure import (
            recompute_derived,
            reference_entries,
            remeasure_sweep,
            revise_measurements,
        )
        from storage import queries
        from storage.database import open_database

        db = open_database(self.db_path)
        try:
            trace = queries.load_trace(db, trace_id)
            run = db.execute("SELECT reference_id, protocol_text, provenance_json FROM runs "
                             "WHERE id = ?", [run_id]).fetchone()
            if trace is None or run is None:
                raise ValueError(f"trace {trace_id} of run {run_id} is not in the database")
            automatic = current_markers(trace.measures, [], trace_id)
            before = current_markers(trace.measures, queries.marker_edits(db, run_id), trace_id)
            after = {**before, marker: new_s}
            measures = remeasure_sweep(trace.volts(), trace.sample_rate, trace.t0,
                                       onset_s=after["onset"], peak_s=after["peak"])
            measures["markers_fixed"] = [m for m in ("onset", "peak")
                                         if after[m] != automatic[m]]
            entries = reference_entries(str(run[0] or ""))
            rows = queries.measurements_with_revisions(db, run_id)
            current = {row["id"]: (row["value"], row["outcome"]) for row in rows}
            candidates = revise_measurements([r for r in rows if r["trace_id"] == trace_id],
                                             measures, entries)
            new_values = {r.measurement_id: r.value for r in candidates}
            now = [{**row, "value": new_values.get(row["id"], row["value"])} for row in rows]
            protocol = stored_protocol(run[1], run[2])
            if protocol is not None:  # velocities and drops follow the revised latencies
                candidates += recompute_derived(protocol, now, _input_values(db, run_id),
                                                entries)
            revised = [r for r in candidates
                       if current.get(r.measurement_id) != (r.value, r.outcome)]
            try:
                operator = getpass.getuser()
            except Exception:
                operator = ""
            edit_id = queries.record_marker_edit(
                db, run_id=run_id, trace_id=trace_id, marker=marker, old_s=before[marker],
                new_s=new_s, automatic_s=automatic[marker], operator=operator or "unknown",
                reason=reason, at=utc_now(),
                revisions=[queries.MeasurementRevision(r.measurement_id, r.value, r.outcome,
                                                       r.note) for r in revised])
            return MarkerSaved(edit_id, after, queries.measurements_with_revisions(db, run_id),
                               len(revised))
        finally:
            db.close()


def stored_protocol(text: str | None, provenance: dict[str, Any] | str | None) -> Any:
    """The protocol a run was started with, from its stored text and the includes kept in
    its provenance (dict or JSON); None if it cannot be read (callers then do without)."""
    import json

    from engine.protocol import load_protocol_text
    from engine.yamlsource import SourceError

    if not text:
        return None
    if not isinstance(provenance, dict):
        provenance = json.loads(provenance or "{}")
    try:
        return load_protocol_text(text, str(provenance.get("protocol_path") or "protocol.yaml"),
                                  dict(provenance.get("protocol_includes") or {}))
    except (SourceError, OSError, ValueError):
        return None


def _input_values(db: Any, run_id: str) -> dict[str, float]:
    """Values typed into input steps (distances), what compute steps read."""
    import json

    values: dict[str, float] = {}
    for step_id, result in db.execute("SELECT step_id, result_json FROM steps WHERE run_id = ? "
                                      "AND kind = 'input' AND status = 'done'", [run_id]):
        value = json.loads(result or "{}").get("value")
        if isinstance(value, int | float):
            values[step_id] = float(value)
    return values
