"""Where the app gets protocols, subjects and stored runs.

Screens talk to a `DataSource` instead of importing engine, storage and instruments
directly, so tests can hand in a fake and the heavy imports happen only when needed.
Every storage call opens its own SQLite connection on the calling (worker) thread.
"""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def active(self) -> bool:
        return bool(self.search or self.status or self.protocol_id or self.subject_id
                    or self.abnormal_only)

    def matches(self, row: dict[str, Any]) -> bool:
        """The exact test, for rows storage could only narrow down."""
        return ((not self.status or row.get("status") == self.status)
                and (not self.protocol_id or row.get("protocol_id") == self.protocol_id)
                and (not self.subject_id or row.get("subject_id") == self.subject_id)
                and (not self.abnormal_only or int(row.get("abnormal_count") or 0) > 0))


class DataSource(Protocol):
    def protocols(self) -> list[ProtocolEntry]: ...

    def subjects(self) -> list[str]: ...

    def runs_page(self, offset: int, limit: int, filters: RunFilter) -> list[dict[str, Any]]: ...

    def run(self, run_id: str) -> dict[str, Any]: ...

    def trace(self, trace_id: Any) -> Any: ...

    def interrupted_runs(self) -> list[str]: ...

    def bench_info(self, profile: str, config: Path | None) -> dict[str, Any]: ...


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
                           abnormal_only=bool(filters.abnormal_only))

    def run(self, run_id: str) -> dict[str, Any]:
        return self._query("get_run", run_id)

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
