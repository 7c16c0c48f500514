"""Damaged and unwritable storage, said in one sentence: the one place where the database driver's errors, and
stored rows that do not decode, become the contract's errors (PRODUCT.md, "Exit codes").

- A damaged case store (not a SQLite database, truncated, a dropped table or column, a body retyped from bytes to
  text, a correctly chained payload that does not decode as its type) is an `IntegrityFailure` (exit 4) naming what
  is damaged and pointing at the restore steps of docs/deployment.md.
- A workspace that cannot be written (read-only file or folder, disk full, I/O error) is a `StorageFailure` (exit 1)
  in one sentence; the transaction was rolled back, so nothing was written.

models/db.py's transactions call `translate` for every driver error; models/store.py and models/state.py raise
`damaged_row` / `undecodable_payload` where a row becomes a record. Commands never catch driver errors themselves.
"""

from __future__ import annotations

import os
from typing import Any

from policies.errors import IntegrityFailure, StorageFailure

RESTORE = ("Nothing was written. Keep a copy of the damaged files, then restore the workspace from its last backup "
           "and verify it: docs/deployment.md, section 'Restoring a damaged case store'.")

# Driver messages (SQLite; PostgreSQL's undefined table or column) that mean the store's content is damaged — every
# part of a key must appear — and what to call that damage.
_DAMAGE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("file is not a database",), "the database file is not a SQLite database (its header is damaged or it was overwritten)"),
    (("database disk image is malformed",), "the database file is damaged (database disk image is malformed: truncated or overwritten)"),
    (("malformed database schema",), "the database schema is damaged ({detail})"),
    (("no such table",), "a table is missing ({detail})"),
    (("no such column",), "a column is missing ({detail})"),
    (("relation", "does not exist"), "a table is missing ({detail})"),
    (("column", "does not exist"), "a column is missing ({detail})"),
    (("datatype mismatch",), "a column holds values of the wrong type ({detail})"),
)
# Messages that mean the workspace cannot be written (the environment, exit 1), not damage. (A full disk and I/O
# errors are models/db.py's StorageFailure already.) SQLite says "unable to open database file" when the folder is
# read-only and the WAL's shared-memory file cannot be made.
_UNWRITABLE = ("readonly database", "unable to open database file")


def where(url: str | None) -> str:
    """'the case store juece.db at PATH' or 'the case store' (a PostgreSQL URL is not shown: it may carry a password)."""
    if url and url.startswith("sqlite:///"):
        return f"the case store {url[len('sqlite:///'):]}"
    return "the case store"


def translate(orig: BaseException, url: str | None = None) -> Exception | None:
    """The contract's error for a driver error (`sqlite3.Error`, a psycopg error, or SQLAlchemy's wrapper's `orig`),
    or None when it is not one the contract names (a lost race is models/db.py's)."""
    text = str(orig)
    low = text.lower()
    for needles, what in _DAMAGE:
        if all(n in low for n in needles):
            detail = text.strip().splitlines()[0][:200]
            return damaged(f"{where(url)} is damaged: {what.format(detail=detail)}.")
    for needle in _UNWRITABLE:
        if needle in low:
            return StorageFailure(
                f"{where(url)} cannot be written ({text.strip().splitlines()[0][:200] if text.strip() else needle}): "
                "make the workspace folder and its juece.db writable by this user, then run the same command again; "
                "nothing was written",
                code="unwritable",
            )
    return None


def damaged(sentence: str, **details: Any) -> IntegrityFailure:
    """An integrity failure for damaged storage, with the restore pointer."""
    return IntegrityFailure(f"{sentence} {RESTORE}", code="damaged-store", **details)


def damaged_row(case_id: Any, seq: Any, why: str) -> IntegrityFailure:
    """A stored row that cannot be read as an event."""
    return damaged(f"event {seq} of {case_id!s} in the case store is damaged: {why}.", case_id=str(case_id), seq=seq)


def undecodable_payload(case_id: str, seq: int, event_type: str, exc: BaseException) -> IntegrityFailure:
    """A stored event whose payload does not decode as its type (written outside juece, hashes recomputed)."""
    errors = getattr(exc, "errors", None)  # pydantic's ValidationError: say which fields, not its whole report
    if callable(errors):
        reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in errors()[:3])
    else:
        reason = f"{type(exc).__name__}: {exc}"
    reason = reason[:300]
    return damaged(f"{case_id} #{seq} `{event_type}` in the case store is damaged: its recorded payload is not a valid "
                   f"{event_type!r} ({reason}); it was written outside juece.", case_id=str(case_id), seq=seq)


def check_sqlite_file(path: str, *, create: bool) -> None:
    """Refuse, before SQLite opens it, a database file that is empty or (unless `create`) missing: SQLite would make a
    new, empty database of it — writing a fresh header over an emptied file — and the history would look absent, not
    damaged. Only `stat`: opening and closing the file here would drop the POSIX locks SQLite holds on it through this
    process's other connections (a closed descriptor releases them all; that corrupted a WAL when tried). A file that
    is not a database SQLite refuses itself, without writing ("file is not a database")."""
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        if create:
            return
        raise damaged(f"{where('sqlite:///' + path)} is missing: the workspace has no database file.") from None
    except OSError:
        return  # unreadable: SQLite's own error says so, and is translated where the connection is used
    if size == 0 and not _wal_holds_data(path):
        raise damaged(f"{where('sqlite:///' + path)} is damaged: the database file is empty (0 bytes).")


def _wal_holds_data(path: str) -> bool:
    """True when a write-ahead log beside the file holds pages (the file itself may then still be empty)."""
    try:
        return os.stat(path + "-wal").st_size > 0
    except OSError:
        return False
