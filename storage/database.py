"""Opening the SQLite file: permissions, WAL, migrations, and clear errors.

A study's data is health data: the file is created readable by its owner only, and every
failure to open or write it becomes a `StorageError` that names the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from engine.events import RecordError
from storage.migrations import migrate


class StorageError(RecordError):
    """The database cannot be opened or written; the message names the file."""


def open_database(path: str | os.PathLike[str], *, readonly: bool = False) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the run database at `path`."""
    db_path = Path(path).expanduser()
    try:
        if not readonly:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            if not db_path.exists():
                # Create with 0600 before SQLite touches it: no window where others can read.
                fd = os.open(db_path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
        elif not db_path.exists():
            raise StorageError(f"database {db_path}: no such file")
        uri = f"file:{db_path}?mode=ro" if readonly else f"file:{db_path}"
        conn = sqlite3.connect(uri, uri=True, timeout=15.0, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 15000")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            with _one_opener_at_a_time(db_path):
                conn.execute("PRAGMA journal_mode = WAL")
                # FULL: a committed step survives power loss, not only a process crash.
                conn.execute("PRAGMA synchronous = FULL")
                migrate(conn)
    except StorageError:
        raise
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        raise StorageError(f"database {db_path}: {_describe(exc)}") from exc
    return sqlite_utils.Database(conn)


@contextlib.contextmanager
def _one_opener_at_a_time(db_path: Path) -> Iterator[None]:
    """Switching a new file to WAL and migrating it is not safe for two openers at once
    (both read the old version; one then fails on a table the other made), so openers
    take turns on a lock of the directory. Never on the database file itself: closing
    any descriptor of it drops every SQLite lock this process holds on it."""
    fd = os.open(db_path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied (choose another file with --db or EDXBENCH_DB)"
    text = str(exc) or type(exc).__name__
    if "unable to open" in text or "readonly" in text:
        return f"{text} (is the directory writable?)"
    return text
