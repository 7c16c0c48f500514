"""The append-only, hash-chained event history: the legal record. Everything else is derived from it.

One table. `(case_id, seq)` is unique and is the whole concurrency story; each row keeps the canonical bytes that were
hashed (`body`) and `hash = sha256(prev_hash ‖ body)`, chained per stream (a case, or `@workspace` for the clock and
calendar records). A trigger refuses UPDATE and DELETE (models/migrations/ creates it with the table, models/tables.py
defines the table). Reads return rows, not ORM objects (the ORM was 7–40× slower on these paths, ARCHITECTURE.md).

Every function takes either connection models/db.py gives: a SQLAlchemy `Connection` (SQLAlchemy Core on
`EventRow.__table__`, PostgreSQL and SQLite alike) or a plain `sqlite3.Connection` (the SQL below, on SQLite; no
SQLAlchemy imported). The two give the same rows and the same errors; tests/test_store_paths.py runs both on one
store and compares, and the contract suite runs the use cases over both.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Iterable, Iterator, Sequence

import orjson
import sqlite3
from typing import TYPE_CHECKING

from models.canonical import GENESIS, canonical_bytes, chain_hash
from policies.errors import ConcurrentModification, IdempotencyConflict

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.sql import Select

    from models.db import AnyConnection

WORKSPACE_STREAM = "@workspace"
ENVELOPE_VERSION = 1


def create_schema(engine: Engine) -> None:
    """Create or bring up to date the schema (models/migrations/)."""
    from models.migrations import migrate

    migrate(engine)


def utc_text(moment: datetime) -> str:
    """The stored form of a moment: UTC, microseconds, 'Z'."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not recorded; pass an aware datetime")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_UTC_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def parse_utc(value: str) -> datetime:
    """Inverse of `utc_text`."""
    if type(value) is str and len(value) == 27 and _UTC_TEXT.fullmatch(value):
        # The exact form `utc_text` writes, without strptime's cost (it dominated replay's date work);
        # anything else, or an out-of-range field, goes through strptime for its answer and its error.
        try:
            return datetime(int(value[0:4]), int(value[5:7]), int(value[8:10]), int(value[11:13]),
                            int(value[14:16]), int(value[17:19]), int(value[20:26]), timezone.utc)
        except ValueError:
            pass
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


# The stored form with its time of day in range: a text that matches, and whose date exists, is a moment of that date.
_UTC_DAY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z")


def utc_day(value: str) -> str | None:
    """'2026-03-04' for a moment stored as '2026-03-04T05:06:07.123456Z' (the exact form `utc_text` writes, its time
    of day in range), else None. Whether the date exists is `parse_utc`'s to say."""
    m = _UTC_DAY.fullmatch(value) if type(value) is str else None
    return m.group(1) if m is not None else None


@dataclass(frozen=True)
class StoredEvent:
    """One row of the history as read back: the columns, and the envelope parsed from the hashed bytes."""

    position: int
    case_id: str
    seq: int
    type: str
    recorded_at: str
    actor: str
    role: str
    idempotency_key: str
    body: bytes
    prev_hash: str
    hash: str

    @cached_property
    def envelope(self) -> dict[str, Any]:
        """The hashed envelope: type, seq, actor, role, policy, acknowledgements, payload, …"""
        env: dict[str, Any] = orjson.loads(self.body)
        return env

    @property
    def payload(self) -> dict[str, Any]:
        """The event's payload as recorded (JSON form)."""
        payload: dict[str, Any] = self.envelope["payload"]
        return payload

    @property
    def acknowledgements(self) -> list[dict[str, str]]:
        """WARN rules acknowledged when this event was recorded, with the reasons."""
        acks: list[dict[str, str]] = self.envelope.get("acknowledgements", [])
        return acks

    @property
    def moment(self) -> datetime:
        """When it was recorded (aware, UTC)."""
        return parse_utc(self.recorded_at)


# The columns a StoredEvent is read from, in its order (the sqlite3 path's SQL names them; a test holds the list equal
# to the table's columns).
COLUMN_NAMES = ("position", "case_id", "seq", "type", "recorded_at", "actor", "role", "idempotency_key", "body",
                "prev_hash", "hash")
INSERT_NAMES = ("case_id", "seq", "type", "schema_version", "recorded_at", "actor", "role", "idempotency_key", "body",
                "prev_hash", "hash")
_SELECT = f"SELECT {', '.join(COLUMN_NAMES)} FROM events"
_INSERT = f"INSERT INTO events ({', '.join(INSERT_NAMES)}) VALUES ({', '.join('?' * len(INSERT_NAMES))})"
OUTBOX_NAMES = ("case_id", "seq", "type", "recorded_at")
_OUTBOX_INSERT = f"INSERT INTO outbox ({', '.join(OUTBOX_NAMES)}) VALUES (?, ?, ?, ?)"


def __getattr__(name: str) -> Any:
    """`EVENTS`, the history table (models/tables.py: EventRow.__table__), imported on first use only."""
    if name == "EVENTS":
        from models.tables import EVENTS

        return EVENTS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _select() -> Select[Any]:
    from sqlalchemy import select

    from models.tables import EVENTS

    return select(*(EVENTS.c[name] for name in COLUMN_NAMES))


_new = object.__new__
_set = object.__setattr__


def _row(r: Any) -> StoredEvent:
    # Equal to StoredEvent(r[0], …, bytes(r[8]), …), built without the frozen dataclass's per-field __setattr__
    # (half the cost of reading a row on the replay and verify paths).
    body = r[8]
    if type(body) is not bytes:
        body = _body(r)
    ev = _new(StoredEvent)
    _set(ev, "__dict__", {
        "position": r[0], "case_id": r[1], "seq": r[2], "type": r[3], "recorded_at": r[4], "actor": r[5],
        "role": r[6], "idempotency_key": r[7], "body": body, "prev_hash": r[9], "hash": r[10],
    })
    return ev


def _body(r: Any) -> bytes:
    """The hashed bytes of a row whose body is not `bytes`: a buffer is copied; text (the column retyped by a generic
    SQLite tool) or anything else is damage (models/damage.py), never decoded on a guess."""
    if isinstance(r[8], (bytearray, memoryview)):
        return bytes(r[8])
    from models.damage import damaged_row

    kind = "text" if isinstance(r[8], str) else type(r[8]).__name__
    raise damaged_row(r[1], r[2], f"its body column holds {kind}, not the bytes that were hashed (the events table "
                                  "was altered by another tool)")


def _check_bodies(rows: Sequence[Any]) -> Sequence[Any]:
    """Rows whose bodies are all bytes (a buffer is turned into bytes; text is damage, as in `_row`)."""
    for i, r in enumerate(rows):
        if type(r[8]) is not bytes:
            rows = list(rows)
            rows[i] = (*r[:8], _body(r), *r[9:])
    return rows


_STREAM_SQL = f"{_SELECT} WHERE case_id = ? ORDER BY seq"
_STREAM_AS_OF_SQL = f"{_SELECT} WHERE case_id = ? AND recorded_at <= ? ORDER BY seq"


def _stream_rows(conn: sqlite3.Connection, case_id: str, as_of: datetime | None) -> list[Any]:
    if as_of is None:
        return conn.execute(_STREAM_SQL, (case_id,)).fetchall()
    return conn.execute(_STREAM_AS_OF_SQL, (case_id, utc_text(as_of))).fetchall()


def _driver_rows(conn: Any, case_id: str, as_of: datetime | None) -> list[Any] | None:
    """A stream's rows read through the sqlite3 connection under a SQLAlchemy connection to SQLite, in the same open
    transaction, without SQLAlchemy's statement and row machinery (about a fifth of `audit verify`'s read,
    bench/RESULTS.md); None on another database, or when the driver raised: the engine's path then reads (and says
    any error as the engine's error hook does)."""
    if conn.dialect.name != "sqlite":
        return None
    raw = conn.connection.driver_connection
    if not isinstance(raw, sqlite3.Connection):
        return None
    try:
        return _stream_rows(raw, case_id, as_of)
    except sqlite3.Error:
        return None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around batch work (it dominates replay and import otherwise,
    ARCHITECTURE.md); restores the previous setting."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_stream(conn: AnyConnection, case_id: str, *, as_of: datetime | None = None) -> list[StoredEvent]:
    """Every event of one stream in order (optionally only those recorded at or before `as_of`)."""
    rows: Sequence[Any]
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        rows = _stream_rows(conn, case_id, as_of)
    elif (raw := _driver_rows(conn, case_id, as_of)) is not None:
        rows = raw
    else:
        from models.tables import EVENTS

        q = _select().where(EVENTS.c.case_id == case_id)
        if as_of is not None:
            q = q.where(EVENTS.c.recorded_at <= utc_text(as_of))
        rows = conn.execute(q.order_by(EVENTS.c.seq)).all()
    with gc_paused():  # building thousands of rows: the cyclic GC would otherwise dominate (ARCHITECTURE.md)
        return list(map(_row, rows))


def first_event(conn: AnyConnection, case_id: str) -> StoredEvent | None:
    """The first event of a stream (a case's launch, with the pack it pinned), without reading the rest."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        r = conn.execute(f"{_SELECT} WHERE case_id = ? AND seq = 1", (case_id,)).fetchone()
    else:
        from models.tables import EVENTS

        r = conn.execute(_select().where(EVENTS.c.case_id == case_id, EVENTS.c.seq == 1)).first()
    return _row(r) if r else None


def last_versions(conn: AnyConnection, stream_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Each stream's last (seq, hash), for the streams that have events: what a read model keys its views by (the
    chain hash names the stream's whole content). One seek down the `(case_id, seq)` index per stream, whatever its
    length (a correlated `max(seq)` over the stream cost 5 ms on a 5,000-event stream; this 10 µs)."""
    out: dict[str, tuple[int, str]] = {}
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        for stream in dict.fromkeys(stream_ids):
            r = conn.execute(_LAST_SQL, (stream,)).fetchone()
            if r is not None:
                out[stream] = (int(r[0]), r[1])
        return out
    global _LAST_VERSION
    if _LAST_VERSION is None:  # built once: building the statement cost more than running it
        from sqlalchemy import bindparam, select

        from models.tables import EVENTS

        _LAST_VERSION = (select(EVENTS.c.seq, EVENTS.c.hash).where(EVENTS.c.case_id == bindparam("stream"))
                         .order_by(EVENTS.c.seq.desc()).limit(1))
    for stream in dict.fromkeys(stream_ids):
        r = conn.execute(_LAST_VERSION, {"stream": stream}).first()
        if r is not None:
            out[stream] = (int(r[0]), r[1])
    return out


_LAST_SQL = "SELECT seq, hash FROM events WHERE case_id = ? ORDER BY seq DESC LIMIT 1"
_LAST_VERSION: Any = None


def iter_all(conn: AnyConnection, *, batch: int = 5000) -> Iterator[StoredEvent]:
    """Every stored event in global order, read in batches."""
    for rows in iter_all_rows(conn, batch=batch):
        yield from map(_row, rows)


def iter_all_rows(conn: AnyConnection, *, batch: int = 5000) -> Iterator[Sequence[Any]]:
    """Every stored event in global order as raw rows, a batch at a time, for passes that need no objects
    (a row is (position, case_id, seq, type, recorded_at, actor, role, idempotency_key, body, prev_hash, hash))."""
    last = 0
    rows: Sequence[Any]
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        sql = f"{_SELECT} WHERE position > ? ORDER BY position LIMIT ?"
        while True:
            rows = conn.execute(sql, (last, batch)).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]
    from models.tables import EVENTS

    q = _select().order_by(EVENTS.c.position).limit(batch)
    while True:
        rows = conn.execute(q.where(EVENTS.c.position > last)).all()
        if not rows:
            return
        yield _check_bodies(rows)
        last = rows[-1][0]


def find_by_key(conn: AnyConnection, key: str) -> StoredEvent | None:
    """The event recorded under an idempotency key, if any."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        r = conn.execute(f"{_SELECT} WHERE idempotency_key = ?", (key,)).fetchone()
    else:
        from models.tables import EVENTS

        r = conn.execute(_select().where(EVENTS.c.idempotency_key == key)).first()
    return _row(r) if r else None


def stream_ids(conn: AnyConnection, *, event_type: str) -> list[str]:
    """Ids of the streams whose first event has the given type (e.g. every case)."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        cur = conn.execute("SELECT case_id FROM events WHERE seq = 1 AND type = ? ORDER BY position", (event_type,))
        return [r[0] for r in cur]
    from sqlalchemy import select

    from models.tables import EVENTS

    q = select(EVENTS.c.case_id).where(EVENTS.c.seq == 1, EVENTS.c.type == event_type).order_by(EVENTS.c.position)
    return [r[0] for r in conn.execute(q)]


def all_stream_ids(conn: AnyConnection) -> list[str]:
    """Every stream id in the store except the workspace stream, in order of first appearance."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        cur = conn.execute("SELECT case_id FROM events WHERE case_id != ? GROUP BY case_id ORDER BY min(position)",
                           (WORKSPACE_STREAM,))
        return [r[0] for r in cur]
    from sqlalchemy import func, select

    from models.tables import EVENTS

    q = (
        select(EVENTS.c.case_id)
        .where(EVENTS.c.case_id != WORKSPACE_STREAM)
        .group_by(EVENTS.c.case_id)
        .order_by(func.min(EVENTS.c.position))
    )
    return [r[0] for r in conn.execute(q)]


# Every stream id with its highest seq, by index seeks only (a loose index scan over the unique (case_id, seq) index:
# one seek a stream, where a grouped pass (`all_stream_ids`) reads every entry: 0.015 s against 0.25 s for 10^6
# events here, bench/RESULTS.md). Valid SQL on SQLite and PostgreSQL alike.
_SEQ_BOUNDS_SQL = (
    "WITH RECURSIVE ids(c) AS (SELECT min(case_id) FROM events UNION ALL "
    "SELECT (SELECT min(case_id) FROM events WHERE case_id > ids.c) FROM ids WHERE ids.c IS NOT NULL) "
    "SELECT c, (SELECT max(seq) FROM events WHERE case_id = ids.c) FROM ids WHERE c IS NOT NULL AND c != {ws}"
)


def stream_seq_bounds(conn: AnyConnection) -> list[tuple[str, int]]:
    """Every stream id but the workspace stream with its highest seq, in order of id: the size of an intact stream
    (of a damaged one, a guess good enough to share work by), found without reading the streams."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        cur = conn.execute(_SEQ_BOUNDS_SQL.format(ws="?"), (WORKSPACE_STREAM,))
        return [(r[0], int(r[1])) for r in cur]
    from sqlalchemy import text

    rows = conn.execute(text(_SEQ_BOUNDS_SQL.format(ws=":ws")), {"ws": WORKSPACE_STREAM})
    return [(r[0], int(r[1])) for r in rows]


def count_all(conn: AnyConnection) -> int:
    """How many events the store holds, every stream included."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    from sqlalchemy import func, select

    from models.tables import EVENTS

    return int(conn.execute(select(func.count()).select_from(EVENTS)).scalar_one())


def count_with_prefix(conn: AnyConnection, prefix: str) -> int:
    """How many streams have an id starting with `prefix` (for numbering new cases)."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        cur = conn.execute("SELECT count(*) FROM events WHERE seq = 1 AND case_id LIKE ?", (prefix + "%",))
        return int(cur.fetchone()[0])
    from sqlalchemy import func, select

    from models.tables import EVENTS

    q = select(func.count()).select_from(EVENTS).where(EVENTS.c.seq == 1, EVENTS.c.case_id.like(prefix + "%"))
    return int(conn.execute(q).scalar_one())


def _insert(conn: AnyConnection, row: dict[str, Any]) -> int:
    """Insert one history row; its position. A unique key the row breaks is `IntegrityError`'s text, lowercased, in
    a `_Duplicate` (both drivers word it with the constraint or column name)."""
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        try:
            position = conn.execute(_INSERT, tuple(row[k] for k in INSERT_NAMES)).lastrowid
        except sqlite3.IntegrityError as exc:
            raise _Duplicate(str(exc).lower()) from exc
        assert position is not None
        return position
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from models.tables import EVENTS

    try:
        key = conn.execute(insert(EVENTS).values(**row)).inserted_primary_key
    except IntegrityError as exc:
        raise _Duplicate(str(exc.orig).lower()) from exc
    assert key is not None
    return int(key[0])


def _outbox(conn: AnyConnection, stored: list[StoredEvent]) -> None:
    """The outbox rows of records just appended, in the same transaction (flows/orchestration/mirror.py drains them)."""
    if not stored:
        return
    rows = [(ev.case_id, ev.seq, ev.type, ev.recorded_at) for ev in stored]
    if isinstance(conn, sqlite3.Connection):  # plain sqlite3 (models.db.SqliteStore)
        conn.executemany(_OUTBOX_INSERT, rows)
        return
    from sqlalchemy import insert

    from models.tables import OUTBOX

    conn.execute(insert(OUTBOX), [dict(zip(OUTBOX_NAMES, r)) for r in rows])


class _Duplicate(Exception):
    """An insert broke a unique key."""


@dataclass(frozen=True)
class NewEvent:
    """What a use case asks the store to append."""

    type: str
    schema_version: int
    payload: dict[str, Any]
    actor: str
    role: str
    idempotency_key: str
    policy: str | None = None
    policy_hash: str | None = None
    acknowledgements: tuple[dict[str, str], ...] = ()


def append(conn: AnyConnection, case_id: str, history: list[StoredEvent], new: Iterable[NewEvent], recorded_at: datetime) -> list[StoredEvent]:
    """Append events after `history` (the stream as the caller read it, in this transaction).

    A writer that lost the race for the next `seq` gets `ConcurrentModification`; it never writes a duplicate.
    Each record also gets its outbox row here, in the same transaction: the live mirror into Prefect
    (flows/orchestration/mirror.py) sees every record once it is committed and none that was rolled back.
    """
    prev = bytes.fromhex(history[-1].hash) if history else GENESIS
    seq = history[-1].seq if history else 0
    stamp = utc_text(recorded_at)
    out: list[StoredEvent] = []
    for ev in new:
        seq += 1
        envelope = {
            "v": ENVELOPE_VERSION,
            "case_id": case_id,
            "seq": seq,
            "type": ev.type,
            "schema_version": ev.schema_version,
            "recorded_at": stamp,
            "actor": ev.actor,
            "role": ev.role,
            "policy": ev.policy,
            "policy_hash": ev.policy_hash,
            "idempotency_key": ev.idempotency_key,
            "acknowledgements": list(ev.acknowledgements),
            "payload": ev.payload,
        }
        body = canonical_bytes(envelope)
        digest = chain_hash(prev, body)
        row = {
            "case_id": case_id,
            "seq": seq,
            "type": ev.type,
            "schema_version": ev.schema_version,
            "recorded_at": stamp,
            "actor": ev.actor,
            "role": ev.role,
            "idempotency_key": ev.idempotency_key,
            "body": body,
            "prev_hash": prev.hex(),
            "hash": digest.hex(),
        }
        try:
            position = _insert(conn, row)
        except _Duplicate as exc:
            if "idempotency_key" in str(exc):
                raise IdempotencyConflict(
                    f"the idempotency key {ev.idempotency_key!r} was already used for another record",
                    key=ev.idempotency_key,
                ) from exc
            raise ConcurrentModification(
                f"someone else recorded event {seq} of {case_id} at the same moment; nothing was written — "
                "look at the case again and retry",
                case_id=case_id,
                seq=seq,
            ) from exc
        stored = StoredEvent(position, case_id, seq, ev.type, stamp, ev.actor, ev.role, ev.idempotency_key, body,
                             prev.hex(), digest.hex())
        out.append(stored)
        prev = digest
    _outbox(conn, out)
    return out

