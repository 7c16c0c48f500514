"""Storage for public comments (公众意见) and their dispositions: two append-only tables and the queries on them.

Comments are bulk data (10^5 rows a consultation is not unusual), so they live beside the event history rather than in
it; each import is tied to the history by a `comments-imported` event that records the sha256 of the rows it stored.
`row_hash` (sha256 of the canonical row) is unique per case, which is what makes an import idempotent. `text` is the
comment as submitted, in NFC; `norm_hash` is a hash of the text normalised for *matching* only (NFKC, casefold,
whitespace and punctuation stripped) and is never shown as the text. `cluster` is the near-duplicate cluster the
comment was put in when it was imported; it never changes afterwards, so a disposition on `cluster:<n>` keeps meaning.

The rows are bound to the history by digests the import's event records (`row_hash`, `rows_digest`, `public_digest`
below are those forms, shared by the import, `audit verify` and the archive): `stored_sha256` covers each comment's
own words (time, channel, author, text), `public_sha256` every column a public register shows. A disposition is a
`comment-disposed` event; its row here repeats the event, for queries, and `audit verify` holds the two equal.

Like the events table, both tables refuse UPDATE and DELETE (a trigger). Inserts are SQLAlchemy Core executemany in
batches, inside the caller's one transaction; reads return plain rows. Indexes are few on purpose: besides the unique
(case_id, row_hash) only (case_id, cluster); an index on norm_hash (random order) cost 30 % of the import's store time
here, and the queries that group by it scan one case's rows (0.1 s for 10^5).
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import orjson

from models.db import AnyConnection, AnyEngine, SqliteStore, read_transaction

if TYPE_CHECKING:
    from sqlalchemy import Connection

# SQLAlchemy and the table definitions (models/tables.py) are imported where a query needs them: an import on SQLite
# goes through plain sqlite3 (models.db.SqliteStore) and does not pay for importing them (≈ 0.4 s a process here).
# The import path's queries (the `isinstance(conn, sqlite3.Connection)` branches) are the same queries written in
# SQL, as models/store.py does for the event store; tests/test_comments.py runs imports through both.


def __getattr__(name: str) -> Any:
    """`COMMENTS`, `DISPOSITIONS_TABLE` and `EVENTS` (models/tables.py), imported when first asked for."""
    if name in ("COMMENTS", "DISPOSITIONS_TABLE", "EVENTS"):
        from models import tables

        return getattr(tables, "DISPOSITIONS" if name == "DISPOSITIONS_TABLE" else name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


INSERT_BATCH = 5000
_BIG_CACHE = -65536  # KiB: 64 MiB while a large import runs
DISPOSITIONS = ("adopted", "partly-adopted", "not-adopted")



# --- the canonical forms the history's digests are taken over ----------------------------------------------------


def row_hash(submitted_at: str, channel: str, author: str, text: str) -> str:
    """A comment's row hash: sha256 of its own words as stored (what makes a re-import change nothing)."""
    return hashlib.sha256(orjson.dumps((submitted_at, channel, author, text))).hexdigest()


def row_hash_list(
    stamps: Iterable[str], channels: Iterable[str], authors: Iterable[str], texts: Iterable[str]
) -> list[str]:
    """`row_hash` of many rows given column by column (the same bytes hashed; one loop, no call per row)."""
    sha, dumps = hashlib.sha256, orjson.dumps
    return [sha(dumps(r)).hexdigest() for r in zip(stamps, channels, authors, texts)]


def rows_digest(row_hashes: Iterable[str]) -> str:
    """`stored_sha256`: sha256 of an import's row hashes, in the order stored, one a line."""
    return hashlib.sha256("\n".join(row_hashes).encode()).hexdigest()


_DIGEST_CHUNK = 10_000  # rows serialised at a time: one orjson call per chunk, not per row (4× faster here)


def public_digest(rows: Iterable[Sequence[Any]]) -> str:
    """`public_sha256`: sha256 of the compact JSON array of an import's rows in the order stored, each row
    [id, line, submitted_at, channel, shown_author, text, norm_hash, late, cluster] — the row as a public register
    shows it: the author only when it is shown (an organisation's name; a private person's is ""), the row hash never
    (a withheld name could be guessed from it). Streamed in chunks; the bytes are those of one `orjson.dumps`."""
    h = hashlib.sha256(b"[")
    batch: list[Sequence[Any]] = []
    first = True
    for row in rows:
        batch.append(row)
        if len(batch) == _DIGEST_CHUNK:
            h.update((b"" if first else b",") + orjson.dumps(batch)[1:-1])
            first, batch = False, []
    if batch:
        h.update((b"" if first else b",") + orjson.dumps(batch)[1:-1])
    h.update(b"]")
    return h.hexdigest()



_READY: set[str] = set()  # engine URLs whose comment schema was checked in this process


def create_comment_schema(engine: AnyEngine) -> None:
    """Make sure the comments tables exist: they come with revision 0002 (models/migrations/), applied by
    `juece init`; an older workspace is brought up to date here (no DDL once present, which an application role
    may not run anyway)."""
    if isinstance(engine, SqliteStore):
        key = "sqlite:///" + engine.path
        if key in _READY:
            return
        with read_transaction(engine) as conn:
            q = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('comments', 'dispositions')"
            present = conn.execute(q).fetchone()[0] == 2
        if not present:
            from models.db import make_engine

            sa_engine = make_engine(key, create=False)
            try:
                create_comment_schema(sa_engine)
            finally:
                sa_engine.dispose()
        _READY.add(key)
        return
    from sqlalchemy import inspect

    key = str(engine.url)
    if key in _READY:
        return
    present = inspect(engine)
    if not (present.has_table("comments") and present.has_table("dispositions")):
        from models.migrations import migrate

        migrate(engine)
    _READY.add(key)


# --- writing ----------------------------------------------------------------------------------------------------


INSERT_COLUMNS = (
    "case_id", "import_id", "line", "submitted_at", "channel", "author", "text", "norm_hash", "row_hash", "late", "cluster"
)


_INSERT_SQL = f"INSERT INTO comments ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"


def insert_comments(conn: AnyConnection, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Insert comment rows (tuples in `INSERT_COLUMNS` order) in batches, in the caller's transaction; returns the
    ids the store gave them, in order.

    On SQLite the batches go to the driver's executemany as tuples (through SQLAlchemy, its Core `insert()` compiled
    once and sent by `exec_driver_sql`), which skips SQLAlchemy's per-row parameter processing (5 µs a row here, a
    quarter of the import's budget). The ids: when the highest id grew by exactly the number of rows, the new rows
    hold the ids in between (n distinct ids above the old highest, none above the new); otherwise (another writer's
    rows interleaved, possible on PostgreSQL) they are read back — reading them always cost 0.2 s for 10^5 rows, a
    scan of the table.
    """
    if isinstance(conn, sqlite3.Connection):
        highest_sql = "SELECT coalesce(max(id), 0) FROM comments"
        before = int(conn.execute(highest_sql).fetchone()[0])
        with _big_cache(conn.execute, len(rows)):
            for start in range(0, len(rows), INSERT_BATCH):
                conn.executemany(_INSERT_SQL, rows[start : start + INSERT_BATCH])
        after = int(conn.execute(highest_sql).fetchone()[0])
        if after - before == len(rows):
            return list(range(before + 1, after + 1))
        sql = "SELECT id FROM comments WHERE case_id = ? AND import_id = ? AND id > ? ORDER BY id"
        return [r[0] for r in conn.execute(sql, (rows[0][0], rows[0][1], before))]
    from sqlalchemy import bindparam, func, insert, select

    from models.tables import COMMENTS

    highest = select(func.coalesce(func.max(COMMENTS.c.id), 0))
    before = int(conn.execute(highest).scalar_one())
    stmt = insert(COMMENTS).values({name: bindparam(name) for name in INSERT_COLUMNS})
    compiled = stmt.compile(dialect=conn.dialect)
    positional = compiled.positiontup is not None and list(compiled.positiontup) == list(INSERT_COLUMNS)
    with _big_cache(conn.exec_driver_sql if conn.dialect.name == "sqlite" else None, len(rows)):
        for start in range(0, len(rows), INSERT_BATCH):
            batch = rows[start : start + INSERT_BATCH]
            if positional:
                conn.exec_driver_sql(str(compiled), list(batch))
            else:
                conn.execute(insert(COMMENTS), [dict(zip(INSERT_COLUMNS, row)) for row in batch])
    after = int(conn.execute(highest).scalar_one())
    if after - before == len(rows):
        return list(range(before + 1, after + 1))
    case_id, import_id = rows[0][0], rows[0][1]
    q = select(COMMENTS.c.id).where(COMMENTS.c.case_id == case_id, COMMENTS.c.import_id == import_id, COMMENTS.c.id > before)
    return list(conn.execute(q.order_by(COMMENTS.c.id)).scalars())


@contextmanager
def _big_cache(execute: Any, n: int) -> Iterator[None]:
    """A larger SQLite page cache while a large import inserts (`execute` runs SQL; None: not SQLite). The unique
    (case_id, row_hash) index takes rows in random order; with SQLite's default 2 MiB page cache 10^5 rows spilled
    pages mid-transaction (insert 0.59 s → 0.43 s with 64 MiB). Restored afterwards."""
    if execute is None or n <= INSERT_BATCH:
        yield
        return
    cache = execute("PRAGMA cache_size").fetchone()[0]
    execute(f"PRAGMA cache_size={_BIG_CACHE}")
    try:
        yield
    finally:
        execute(f"PRAGMA cache_size={int(cache)}")


def insert_disposition(
    conn: Connection, *, case_id: str, target: str, disposition: str, reason: str, recorded_at: str, actor: str
) -> int:
    """Append one disposition; returns its id."""
    from sqlalchemy import insert

    from models.tables import DISPOSITIONS as DISPOSITIONS_TABLE

    values = dict(
        case_id=case_id, target=target, disposition=disposition, reason=reason, recorded_at=recorded_at, actor=actor
    )
    key = conn.execute(insert(DISPOSITIONS_TABLE).values(**values)).inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for the disposition it stored")
    return int(key[0])


# --- reading ----------------------------------------------------------------------------------------------------


def row_hashes(conn: AnyConnection, case_id: str) -> set[str]:
    """The row hashes already stored for a case (what makes a re-import change nothing)."""
    if isinstance(conn, sqlite3.Connection):
        return {r[0] for r in conn.execute("SELECT row_hash FROM comments WHERE case_id = ?", (case_id,))}
    from sqlalchemy import select

    from models.tables import COMMENTS

    return set(conn.execute(select(COMMENTS.c.row_hash).where(COMMENTS.c.case_id == case_id)).scalars())


@dataclass(frozen=True)
class DistinctText:
    """One exact-duplicate group already stored: its norm hash, the cluster it is in, and one of its texts."""

    norm_hash: str
    cluster: int
    text: str


def distinct_texts(conn: AnyConnection, case_id: str) -> list[DistinctText]:
    """One stored text per distinct norm hash of a case (the earliest), in order of first appearance."""
    if isinstance(conn, sqlite3.Connection):
        sql = ("SELECT c.norm_hash, c.cluster, c.text FROM comments AS c JOIN (SELECT min(id) AS id FROM comments "
               "WHERE case_id = ? GROUP BY norm_hash) AS first ON c.id = first.id ORDER BY c.id")
        return [DistinctText(r[0], r[1], r[2]) for r in conn.execute(sql, (case_id,))]
    from sqlalchemy import func, select

    from models.tables import COMMENTS

    first = (
        select(func.min(COMMENTS.c.id).label("id"))
        .where(COMMENTS.c.case_id == case_id)
        .group_by(COMMENTS.c.norm_hash)
        .subquery()
    )
    q = (
        select(COMMENTS.c.norm_hash, COMMENTS.c.cluster, COMMENTS.c.text)
        .join(first, COMMENTS.c.id == first.c.id)
        .order_by(COMMENTS.c.id)
    )
    return [DistinctText(r[0], r[1], r[2]) for r in conn.execute(q)]


def max_cluster(conn: AnyConnection, case_id: str) -> int:
    """The highest cluster number used in a case (0 when it has no comments)."""
    if isinstance(conn, sqlite3.Connection):
        return int(conn.execute("SELECT max(cluster) FROM comments WHERE case_id = ?", (case_id,)).fetchone()[0] or 0)
    from sqlalchemy import func, select

    from models.tables import COMMENTS

    q = select(func.max(COMMENTS.c.cluster)).where(COMMENTS.c.case_id == case_id)
    return int(conn.execute(q).scalar_one() or 0)


@dataclass(frozen=True)
class Counts:
    """How many comments a case received, distinct after exact de-duplication, distinct clusters, and late."""

    received: int
    distinct: int
    clusters: int
    late: int


def counts(conn: AnyConnection, case_id: str) -> Counts:
    """The case's comment counts, in one pass."""
    if isinstance(conn, sqlite3.Connection):
        sql = ("SELECT count(*), count(DISTINCT norm_hash), count(DISTINCT cluster), "
               "coalesce(sum(CASE WHEN late THEN 1 ELSE 0 END), 0) FROM comments WHERE case_id = ?")
        got = conn.execute(sql, (case_id,)).fetchone()
        return Counts(int(got[0]), int(got[1]), int(got[2]), int(got[3]))
    from sqlalchemy import case, func, select

    from models.tables import COMMENTS

    q = select(
        func.count(),
        func.count(COMMENTS.c.norm_hash.distinct()),
        func.count(COMMENTS.c.cluster.distinct()),
        func.coalesce(func.sum(case((COMMENTS.c.late, 1), else_=0)), 0),
    ).where(COMMENTS.c.case_id == case_id)
    r = conn.execute(q).one()
    return Counts(int(r[0]), int(r[1]), int(r[2]), int(r[3]))


@dataclass(frozen=True)
class ClusterRow:
    """One near-duplicate cluster: its size in comments and in distinct texts, late ones, and its earliest comment."""

    cluster: int
    size: int
    distinct: int
    late: int
    sample_id: int
    sample_text: str


def clusters(conn: Connection, case_id: str, *, limit: int | None = None, only: Iterable[int] | None = None) -> list[ClusterRow]:
    """Clusters of a case, biggest first (ties: lower number first), each with the text of its earliest comment."""
    from sqlalchemy import case, func, select

    from models.tables import COMMENTS

    size = func.count().label("size")
    q = (
        select(
            COMMENTS.c.cluster,
            size,
            func.count(COMMENTS.c.norm_hash.distinct()),
            func.sum(case((COMMENTS.c.late, 1), else_=0)),
            func.min(COMMENTS.c.id),
        )
        .where(COMMENTS.c.case_id == case_id)
        .group_by(COMMENTS.c.cluster)
        .order_by(size.desc(), COMMENTS.c.cluster)
    )
    if only is not None:
        q = q.where(COMMENTS.c.cluster.in_(list(only)))
    if limit is not None:
        q = q.limit(limit)
    groups = conn.execute(q).all()
    if not groups:
        return []
    texts = dict(conn.execute(select(COMMENTS.c.id, COMMENTS.c.text).where(COMMENTS.c.id.in_([g[4] for g in groups]))).all())
    return [ClusterRow(int(g[0]), int(g[1]), int(g[2]), int(g[3] or 0), int(g[4]), texts[g[4]]) for g in groups]


@dataclass(frozen=True)
class StoredComment:
    """One comment as read back."""

    id: int
    case_id: str
    import_id: str
    line: int
    submitted_at: str
    channel: str
    author: str
    text: str
    norm_hash: str
    row_hash: str
    late: bool
    cluster: int


def _comment_columns() -> tuple[Any, ...]:
    from models.tables import COMMENTS

    return tuple(COMMENTS.c[name] for name in StoredComment.__dataclass_fields__)


def _stored(r: Sequence[Any]) -> StoredComment:
    """A row of `_COMMENT_COLUMNS` as a comment (SQLite returns the `late` flag as 0/1)."""
    return StoredComment(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), r[11])


def comment(conn: Connection, case_id: str, comment_id: int) -> StoredComment | None:
    """One comment of a case by id, if it exists."""
    from sqlalchemy import select

    from models.tables import COMMENTS

    r = conn.execute(
        select(*_comment_columns()).where(COMMENTS.c.case_id == case_id, COMMENTS.c.id == comment_id)
    ).first()
    return _stored(r) if r else None


def comments_of_import(conn: Connection, import_id: str, case_id: str) -> list[StoredComment]:
    """The comments one import stored, in the order it stored them."""
    from sqlalchemy import select

    from models.tables import COMMENTS

    q = (
        select(*_comment_columns())
        .where(COMMENTS.c.case_id == case_id, COMMENTS.c.import_id == import_id)
        .order_by(COMMENTS.c.id)
    )
    return [_stored(r) for r in conn.execute(q)]


def has_comments(conn: AnyConnection, case_id: str) -> bool:
    """True when the case has any comment stored."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute("SELECT id FROM comments WHERE case_id = ? LIMIT 1", (case_id,)).fetchone() is not None
    from sqlalchemy import select

    from models.tables import COMMENTS

    return conn.execute(select(COMMENTS.c.id).where(COMMENTS.c.case_id == case_id).limit(1)).first() is not None


def cluster_exists(conn: Connection, case_id: str, cluster: int) -> bool:
    """True when the case has a comment in that cluster."""
    from sqlalchemy import select

    from models.tables import COMMENTS

    q = select(COMMENTS.c.id).where(COMMENTS.c.case_id == case_id, COMMENTS.c.cluster == cluster).limit(1)
    return conn.execute(q).first() is not None


@dataclass(frozen=True)
class StoredDisposition:
    """One disposition as recorded."""

    id: int
    target: str
    disposition: str
    reason: str
    recorded_at: str
    actor: str


def dispositions(conn: AnyConnection, case_id: str) -> list[StoredDisposition]:
    """Every disposition of a case in the order recorded (a later one for the same target supersedes)."""
    if isinstance(conn, sqlite3.Connection):
        return [StoredDisposition(*r) for r in conn.execute(
            "SELECT id, target, disposition, reason, recorded_at, actor FROM dispositions WHERE case_id = ? ORDER BY id",
            (case_id,)).fetchall()]
    from sqlalchemy import select

    from models.tables import DISPOSITIONS as t

    q = (
        select(t.c.id, t.c.target, t.c.disposition, t.c.reason, t.c.recorded_at, t.c.actor)
        .where(t.c.case_id == case_id)
        .order_by(t.c.id)
    )
    return [StoredDisposition(*r) for r in conn.execute(q)]


# --- reading for verification and the archive ---------------------------------------------------------------------

# A stored comment as verification and the archive read it: (id, import_id, line, submitted_at, channel, author,
# text, norm_hash, row_hash, late, cluster).
FULL_COLUMNS = ("id", "import_id", "line", "submitted_at", "channel", "author", "text", "norm_hash", "row_hash", "late", "cluster")


def case_comment_rows(conn: AnyConnection, case_id: str) -> list[tuple[Any, ...]]:
    """Every comment of a case in the order stored, as tuples in `FULL_COLUMNS` order (`late` a bool)."""
    if isinstance(conn, sqlite3.Connection):
        rows = conn.execute(f"SELECT {', '.join(FULL_COLUMNS)} FROM comments WHERE case_id = ? ORDER BY id",
                            (case_id,)).fetchall()
        return [(*r[:9], bool(r[9]), r[10]) for r in rows]
    from sqlalchemy import select

    from models.tables import COMMENTS

    q = select(*(COMMENTS.c[name] for name in FULL_COLUMNS)).where(COMMENTS.c.case_id == case_id).order_by(COMMENTS.c.id)
    return [(*r[:9], bool(r[9]), r[10]) for r in conn.execute(q).all()]  # one fetchall: row by row cost 3× more


def has_dispositions_table(conn: AnyConnection) -> bool:
    """True when the store has the dispositions table (a store from before migration 2 has none)."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dispositions'").fetchone() is not None
    from sqlalchemy import inspect

    return bool(inspect(conn).has_table("dispositions"))


def rows_per_case(conn: AnyConnection) -> dict[str, tuple[int, int]]:
    """How many comment and disposition rows each case holds (cases without any are absent): one grouped pass each."""
    out: dict[str, tuple[int, int]] = {}
    comments_per_case: Sequence[Any]
    dispositions_per_case: Sequence[Any]
    if isinstance(conn, sqlite3.Connection):
        comments_per_case = conn.execute("SELECT case_id, count(*) FROM comments GROUP BY case_id").fetchall()
        dispositions_per_case = conn.execute("SELECT case_id, count(*) FROM dispositions GROUP BY case_id").fetchall()
    else:
        from sqlalchemy import func, select

        from models.tables import COMMENTS
        from models.tables import DISPOSITIONS as t

        comments_per_case = conn.execute(select(COMMENTS.c.case_id, func.count()).group_by(COMMENTS.c.case_id)).all()
        dispositions_per_case = conn.execute(select(t.c.case_id, func.count()).group_by(t.c.case_id)).all()
    for case_id, n in comments_per_case:
        out[case_id] = (int(n), 0)
    for case_id, n in dispositions_per_case:
        out[case_id] = (out.get(case_id, (0, 0))[0], int(n))
    return out


def cases_recording(conn: AnyConnection, event_types: Sequence[str]) -> set[str]:
    """The streams whose history holds an event of these types (through the events' type index)."""
    if isinstance(conn, sqlite3.Connection):
        marks = ", ".join("?" * len(event_types))
        return {r[0] for r in conn.execute(f"SELECT DISTINCT case_id FROM events WHERE type IN ({marks})",
                                           tuple(event_types)).fetchall()}
    from sqlalchemy import select

    from models.tables import EVENTS

    return set(conn.execute(select(EVENTS.c.case_id).where(EVENTS.c.type.in_(list(event_types))).distinct()).scalars())
