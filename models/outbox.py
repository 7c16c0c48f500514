"""The outbox of the live mirror: what Prefect has not been shown yet (models/tables.py: OutboxRow).

`models.store.append` writes a row per record in the record's own transaction; `juece worker`
(flows/orchestration/mirror.py) reads the undelivered rows in order, delivers them to Prefect and marks them with
`mark_delivered`. Like models/store.py, each function takes a SQLAlchemy connection or a plain sqlite3 one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

if TYPE_CHECKING:
    from sqlalchemy import Connection

    AnyConnection = Union[Connection, sqlite3.Connection]


@dataclass(frozen=True)
class Pending:
    """One record waiting for the mirror: its outbox row and the record's chain hash (which names it uniquely)."""

    id: int
    case_id: str
    seq: int
    type: str
    recorded_at: str
    hash: str


_PENDING = (
    "SELECT o.id, o.case_id, o.seq, o.type, o.recorded_at, e.hash FROM outbox o "
    "JOIN events e ON e.case_id = o.case_id AND e.seq = o.seq "
    "WHERE o.delivered_at IS NULL ORDER BY o.id LIMIT {limit}"
)


def pending(conn: AnyConnection, *, limit: int = 500) -> list[Pending]:
    """The oldest undelivered rows, in the order they were written (so in order per case)."""
    sql = _PENDING.format(limit=int(limit))
    rows: Sequence[Any]
    if isinstance(conn, sqlite3.Connection):
        rows = conn.execute(sql).fetchall()
    else:
        rows = conn.exec_driver_sql(sql).all()
    return [Pending(int(r[0]), r[1], int(r[2]), r[3], r[4], r[5]) for r in rows]


def count_pending(conn: AnyConnection) -> int:
    """How many rows wait for the mirror."""
    sql = "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
    if isinstance(conn, sqlite3.Connection):
        return int(conn.execute(sql).fetchone()[0])
    return int(conn.exec_driver_sql(sql).scalar_one())


def mark_delivered(conn: AnyConnection, ids: Iterable[int], at: str) -> int:
    """Mark rows delivered (only those still undelivered); how many were marked."""
    keys = sorted(set(ids))
    if not keys:
        return 0
    if isinstance(conn, sqlite3.Connection):
        marked = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            cur = conn.execute(f"UPDATE outbox SET delivered_at = ? WHERE delivered_at IS NULL AND id IN ({marks})",
                               (at, *chunk))
            marked += cur.rowcount
        return marked
    from sqlalchemy import update

    from models.tables import OUTBOX

    q = update(OUTBOX).where(OUTBOX.c.delivered_at.is_(None), OUTBOX.c.id.in_(keys)).values(delivered_at=at)
    return int(conn.execute(q).rowcount)
