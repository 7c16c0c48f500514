"""Ways a workspace's SQLite file gets damaged, as a disk, a careless copy or a generic SQLite tool would do it: used by
tests/test_storage_damage.py and bench/bench_damage.py. Each takes the path of a closed `juece.db` (no -wal left)."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
from pathlib import Path
from typing import Callable

import orjson

from models.canonical import GENESIS, canonical_bytes


def _sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for s in statements:
            conn.execute(s)
    finally:
        conn.close()


def _triggers(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='events'")]
    finally:
        conn.close()


def truncated(db: Path) -> None:
    """The file cut to half its length (a copy that stopped, a full disk during a copy)."""
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 2)


def zero_length(db: Path) -> None:
    """The file emptied (a failed copy, `> juece.db`)."""
    with open(db, "r+b") as f:
        f.truncate(0)


def random_bytes(db: Path) -> None:
    """The file overwritten with random bytes of the same length."""
    size = db.stat().st_size
    db.write_bytes(random.Random(12).randbytes(size))


def broken_header(db: Path) -> None:
    """The first 16 bytes (SQLite's magic string) overwritten."""
    with open(db, "r+b") as f:
        f.write(b"NOT A DATABASE!\x00")


def missing(db: Path) -> None:
    """The file deleted (a cleanup script, a backup restored without it); the workspace folder and its
    workspace.json stay. SQLite would make a new, empty database of it: the history would look absent, not lost."""
    os.unlink(db)


def dropped_table(db: Path) -> None:
    """The events table dropped (its append-only triggers go with it)."""
    _sql(db, "DROP TABLE events")


def retyped_column(db: Path) -> None:
    """The body column turned from bytes to text, as a generic SQLite tool's 'change column type' does."""
    _sql(db, *[f"DROP TRIGGER {t}" for t in _triggers(db)], "UPDATE events SET body = CAST(body AS TEXT)")


def mismatched_payload(db: Path) -> None:
    """The last event of the first case given a payload that is not its type's, and the chain recomputed from there, so
    every hash still holds (someone with write access and a script)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for t in _triggers(db):
            conn.execute(f"DROP TRIGGER {t}")
        case_id = conn.execute("SELECT case_id FROM events WHERE type='case-launched' ORDER BY position LIMIT 1").fetchone()[0]
        rows = conn.execute("SELECT position, seq, body FROM events WHERE case_id=? ORDER BY seq", (case_id,)).fetchall()
        target = rows[-1][1]
        prev = GENESIS
        for position, seq, body in rows:
            if seq == target:
                env = orjson.loads(body)
                env["payload"] = {"unexpected": ["not", "this", "event's", "fields"]}
                body = canonical_bytes(env)
            digest = hashlib.sha256(prev + body).digest()
            conn.execute("UPDATE events SET body=?, prev_hash=?, hash=? WHERE position=?", (body, prev.hex(), digest.hex(), position))
            prev = digest
    finally:
        conn.close()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": truncated,
    "zero-length": zero_length,
    "random-bytes": random_bytes,
    "broken-header": broken_header,
    "missing": missing,
    "dropped-table": dropped_table,
    "retyped-column": retyped_column,
    "mismatched-payload": mismatched_payload,
}


def settle(db: Path) -> None:
    """Fold the WAL into the file and remove it, so the damage is done to the whole database."""
    _sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        p = Path(str(db) + suffix)
        if p.exists() and p.stat().st_size == 0:
            os.unlink(p)
