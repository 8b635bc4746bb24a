"""Where the app gets protocols, subjects and stored runs.

Screens talk to a `DataSource` instead of importing engine, storage and instruments
directly, so tests can hand in a fake and the heavy imports happen only when needed.
Every storage call opens its own SQLite connection on the calling (worker) thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class ProtocolEntry:
    id: str
    title: str
    path: Path


class DataSource(Protocol):
    def protocols(self) -> list[ProtocolEntry]: ...

    def subjects(self) -> list[str]: ...

    def runs_page(self, offset: int, limit: int, search: str | None) -> list[dict[str, Any]]: ...

    def run(self, run_id: str) -> dict[str, Any]: ...

    def trace(self, trace_id: Any) -> Any: ...


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

    def runs_page(self, offset: int, limit: int, search: str | None) -> list[dict[str, Any]]:
        return self._query("list_runs", limit=limit, offset=offset, search=search)

    def run(self, run_id: str) -> dict[str, Any]:
        return self._query("get_run", run_id)

    def trace(self, trace_id: Any) -> Any:
        return self._query("load_trace", trace_id)
