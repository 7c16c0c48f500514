"""Public comments at scale (公众意见): import a file of comments into a case, group form-letter campaigns, record how
each comment or campaign was handled, and draft the handling report that PP-07 requires (条例 art. 18).

An import is one transaction: every row of the file is validated first (a bad row refuses the whole file, naming its
line and field), then the new rows are stored, each with its exact-duplicate key and near-duplicate cluster, and one
`comments-imported` event ties the stored rows to the case's history by their count and two digests (see
models/comments.py), which `audit verify` and `archive verify` recompute. Re-importing the same rows changes nothing.

Each disposition is its own `comment-disposed` event in the case's hash-chained history (target, disposition, reason,
how many comments it covered; actor and time are the record's own). Comments are bulk data and are covered by one
digest per import; dispositions are not: each is a decision of the undertaking unit on an opinion, with the reason the
law asks for (条例 art. 18: 不予采纳的理由), few per case (one per cluster or singled-out comment) and each by a named
person at a moment — so each is a record, judged like every record (ROLE-01 through the pack's roles, re-checked by
the auditor) and shown in the replay and the dossier. Its row in the `dispositions` table repeats the record for
queries, and `audit verify` holds the two equal; the handling report and the summaries read the records.

Matching (never storing) uses a normalised key, so full-width and half-width forms, added punctuation and case do not
make a form letter look new; near-duplicates (a changed name, a sentence added) are clustered by MinHash
(flows/adapters/similarity.py). Reading and validating the file is flows/adapters/comment_files.py; dispositions are
flows/usecases/comment_dispositions.py, the handling report flows/usecases/comment_report.py.

The first import of a large file has its keys and clusters worked out by a second process from the moment the import
is allowed (flows/adapters/cluster_process.py: the GIL kept a worker thread from overlapping), and on SQLite the
import runs on plain sqlite3 (models.db.SqliteStore), so the command imports neither SQLAlchemy nor pydantic.
"""


from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from flows.adapters.comment_files import EPOCH, MICROSECOND, Rows, read_rows, utc_texts
from flows.adapters.similarity import matching_keys
from flows.usecases.clock import LOCAL, now
from flows.usecases.comment_clusters import Matching, assign_clusters, cluster_process
from flows.usecases.comment_integrity import COMMENTS_IMPORTED
from flows.usecases.unit_of_work import load_case_rows
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import comments as db
from models import store
from models.canonical import sha256_hex
from models.db import read_transaction, write_transaction
from models.payload_plan import SCHEMA_VERSION
from models.store import NewEvent, StoredEvent, gc_paused
from policies.disclosure import public_author
from policies.errors import BadInput
from policies.limits import read_bounded
from policies.pack import PolicyPack
from policies.rules.order import require_role


# --- results ----------------------------------------------------------------------------------------------------


# What an import counts: the `comments-imported` payload and the command's JSON both carry these.
MAX_FILE_BYTES = 512 * 1024 * 1024  # one import file; a read stops one byte past it (never /dev/zero for ever)
_COUNTED = ("import_id", "file_sha256", "rows", "new_rows", "late", "received_total", "distinct_total", "clusters_total")


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the file's rows, how many were new, and the case's totals afterwards."""

    case_id: str
    import_id: str
    file_sha256: str
    rows: int
    new_rows: int
    late: int
    received_total: int
    distinct_total: int
    clusters_total: int
    seq: int | None = None  # the `comments-imported` event; None when nothing new was stored
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def repeated(self) -> bool:
        """True when every row was already stored (the same file imported again)."""
        return self.new_rows == 0

    def _counts(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COUNTED}

    def payload(self, stored_sha256: str, public_sha256: str) -> dict[str, Any]:
        """The `comments-imported` event payload."""
        return {**self._counts(), "stored_sha256": stored_sha256, "public_sha256": public_sha256}

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of `comments import`."""
        return {"case_id": self.case_id, **self._counts(), "seq": self.seq, "repeated": self.repeated}


@dataclass(frozen=True)
class ClusterView:
    """One group of comments (a campaign, or a single opinion) with its size, a sample and its disposition."""

    cluster: int
    size: int
    distinct: int
    late: int
    sample_id: int
    sample: str
    disposition: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


@dataclass(frozen=True)
class Summary:
    """A case's comments: received, distinct after exact de-duplication, distinct after clustering, late, and the
    biggest clusters."""

    case_id: str
    received: int
    distinct: int
    clusters: int
    late: int
    imports: int
    top: tuple[ClusterView, ...]
    dispositions: int

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of `comments show`."""
        return {
            "case_id": self.case_id,
            "received": self.received,
            "distinct": self.distinct,
            "clusters": self.clusters,
            "late": self.late,
            "imports": self.imports,
            "dispositions": self.dispositions,
            "top": [c.to_json() for c in self.top],
        }



# --- the case -----------------------------------------------------------------------------------------------------


def _require_role(pack: PolicyPack, actor: Actor, event: str, doing: str) -> None:
    """ROLE-01 with the pack's roles for `event` (the same the auditor's re-check reads)."""
    require_role(pack, actor.role, event, doing)


def _consultation_deadline(events: list[StoredEvent], case_id: str) -> date:
    opened = [e for e in events if e.type == "consultation-opened"]
    if not opened:
        raise BadInput(
            f"case {case_id} has no open consultation: public comments belong to a consultation "
            "(record `consultation-opened` with its deadline first, 条例 art. 15)",
            field="CASE",
            case_id=case_id,
        )
    return date.fromisoformat(opened[-1].payload["deadline"])


# --- use cases ----------------------------------------------------------------------------------------------------


def import_comments(ws: Workspace, actor: Actor, case_id: str, path: str | Path) -> ImportResult:
    """Import a JSON Lines or CSV file of public comments into a case: all rows or none, idempotent."""
    db.create_comment_schema(ws.db)
    with read_transaction(ws.db) as conn:
        events, pack = load_case_rows(conn, case_id)
        first_import = not db.has_comments(conn, case_id)
    _require_role(pack, actor, COMMENTS_IMPORTED, "import public comments")
    _consultation_deadline(events, case_id)
    source = Path(path)
    kind = source.suffix.lower()
    if kind not in (".jsonl", ".ndjson", ".csv"):
        raise BadInput(f"{source.name}: expected a .jsonl, .ndjson or .csv file", field="FILE")
    clock = time.perf_counter
    timings: dict[str, float] = {}
    started = clock()
    # A first import of a large file has its matching keys and clusters worked out by a second process from the start
    # (flows/adapters/cluster_process.py); otherwise one worker thread works them out while this one validates.
    child = cluster_process(source, kind, MAX_FILE_BYTES) if first_import else None
    try:
        with gc_paused(), ThreadPoolExecutor(1, thread_name_prefix="comments-cluster") as pool:
            # The collector dominated batch work here (87k → 316k rows/s validated with it paused).
            data = read_bounded(source, MAX_FILE_BYTES, "FILE")
            file_sha256 = sha256_hex(data)
            rows = read_rows(data, kind, source.name, LOCAL)
            del data
            keyed = pool.submit(matching_keys, rows.texts) if child is None else None
            micros = np.asarray(rows.micros, dtype=np.int64)
            stamps = utc_texts(micros)
            row_hashes = db.row_hash_list(stamps, rows.channels, rows.authors, rows.texts)
            import_id = sha256_hex("\n".join(row_hashes).encode())
            timings["validate"] = clock() - started  # reading the file included

            def wait_for_keys() -> Matching:
                nonlocal child
                if keyed is not None:
                    return Matching.from_keys(keyed.result(), pool if first_import else None)
                assert child is not None
                answer, child = Matching.from_child(child, file_sha256, rows.texts), None
                return answer

            result = _store(ws, actor, case_id, rows, micros, stamps, row_hashes, wait_for_keys, import_id,
                            file_sha256, timings)
    finally:
        if child is not None:
            child.stop()
    return result


def _store(
    ws: Workspace, actor: Actor, case_id: str, rows: Rows, micros: np.ndarray, stamps: list[str], row_hashes: list[str],
    matching_of: Callable[[], Matching], import_id: str, file_sha256: str, timings: dict[str, float],
) -> ImportResult:
    """The write transaction of an import: what is new, its clusters, the rows and the `comments-imported` event.
    What needs no matching key is read and prepared before waiting for them (`matching_of`)."""
    clock = time.perf_counter
    with write_transaction(ws.db) as conn:
        started = clock()
        facts = read_facts(conn)
        events, pack = load_case_rows(conn, case_id)
        deadline = _consultation_deadline(events, case_id)
        # Late: submitted after 24:00 of the deadline day, Beijing time.
        closes = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL)
        late = micros >= (closes - EPOCH) // MICROSECOND
        stored = db.row_hashes(conn, case_id)
        new: list[int] = []
        if not stored and len(set(row_hashes)) == len(row_hashes):
            new = list(range(len(row_hashes)))  # nothing stored, no row repeated: every row is new
        else:
            seen: set[str] = set()
            for i, h in enumerate(row_hashes):
                if h not in stored and h not in seen:
                    seen.add(h)
                    new.append(i)
        existing = db.distinct_texts(conn, case_id) if new else []
        authors = rows.authors
        shown = {a: public_author(pack, a) for a in {authors[i] for i in new}}
        timings["read"] = clock() - started

        started = clock()
        matching = matching_of()
        norm_hashes = matching.norm_hashes
        cluster_of = {d.norm_hash: d.cluster for d in existing}
        # The norm hashes not stored yet, in order of their first new row (each with that row, worked out only if
        # needed: when every row is new and none is stored, they are the file's distinct ones in order).
        first_new: dict[str, int] | None = None
        if len(new) == len(norm_hashes) and not cluster_of:
            fresh_hashes = list(dict.fromkeys(norm_hashes))
        else:
            first_new = {}
            for i in new:
                h = norm_hashes[i]
                if h not in cluster_of and h not in first_new:
                    first_new[h] = i
            fresh_hashes = list(first_new)
        if fresh_hashes:
            # The early roots are the answer when the case still has no comments and the fresh texts are exactly the
            # file's distinct ones in order (as they are for a first import); else the fresh keys are clustered with
            # the stored texts.
            ready = matching.early is not None and not existing and fresh_hashes == matching.distinct
            if ready:
                assert matching.early is not None
                fresh = [(h, "") for h in fresh_hashes]
                roots = matching.early()
            else:
                if first_new is None:
                    first_new = {}
                    for i, h in enumerate(norm_hashes):
                        first_new.setdefault(h, i)
                fresh = list(zip(fresh_hashes, matching.key_of([first_new[h] for h in fresh_hashes])))
                roots = None
            cluster_of.update(assign_clusters(existing, fresh, db.max_cluster(conn, case_id), roots))
        timings["cluster"] = clock() - started  # waiting for the keys (and the clusters) included

        started = clock()
        key = f"comments-import:{case_id}:{import_id}"
        public_sha256: str | None = None  # set when the rows are new and their record is to be appended
        if new:
            columns = _new_columns(new, rows, stamps, norm_hashes, row_hashes, late, cluster_of)
            record = store.find_by_key(conn, key) is None
            public_sha256 = _insert_rows(conn, case_id, import_id, columns, shown if record else None)
            distinct = len(existing) + len(fresh_hashes)
            totals = db.Counts(len(stored) + len(new), distinct, len(set(cluster_of.values())), 0)
        else:
            totals = db.counts(conn, case_id)  # nothing new: the totals as they stand
        result = ImportResult(
            case_id=case_id,
            import_id=import_id,
            file_sha256=file_sha256,
            rows=len(rows),
            new_rows=len(new),
            late=int(late.sum()),
            received_total=totals.received,
            distinct_total=totals.distinct,
            clusters_total=totals.clusters,
            timings=timings,
        )
        if public_sha256 is not None:
            body = result.payload(db.rows_digest(columns[6]), public_sha256)
            (event,) = store.append(
                conn,
                case_id,
                events,
                [NewEvent(COMMENTS_IMPORTED, SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash)],
                now(facts),
            )
            result = replace(result, seq=event.seq)
    timings["store"] = clock() - started  # inserts and the durable commit
    return result


def _new_columns(
    new: list[int], rows: Rows, stamps: list[str], norm_hashes: list[str], row_hashes: list[str], late: np.ndarray,
    cluster_of: dict[str, int],
) -> list[Any]:
    """The columns of the rows at `new`, in `db.INSERT_COLUMNS` order from `line` on (`late` a bool array); when
    every row is new (`new` is 0 … n−1), the columns as they are."""
    cols: list[Any] = [rows.lines, stamps, rows.channels, rows.authors, rows.texts, norm_hashes, row_hashes]
    if len(new) < len(rows):
        cols, late = [[col[i] for i in new] for col in cols], late[np.asarray(new, dtype=np.intp)]
    return [*cols, late, [cluster_of[h] for h in cols[5]]]


def _insert_rows(conn: Any, case_id: str, import_id: str, cols: list[Any], shown: dict[str, str] | None) -> str | None:
    """Insert the rows (`_new_columns`) as tuples zipped from their columns; given `shown` (each author as a public
    register shows it), also return their public digest (`public_sha256`) over the ids they got. To plain sqlite3
    `late` goes as 0/1, what SQLite stores for a bool either way (a bool parameter took sqlite3's adapter lookup,
    0.05–0.1 s for 10^5 rows here); to SQLAlchemy as bools (PostgreSQL's column is a boolean)."""
    line, at, channel, author, text, norm, row_hash, late, cluster = cols
    bound = late.astype(np.int64) if isinstance(conn, sqlite3.Connection) else late
    n = len(line)
    ids = db.insert_comments(conn, list(zip(repeat(case_id, n), repeat(import_id, n), line, at, channel, author, text,
                                            norm, row_hash, bound.tolist(), cluster)))
    if shown is None:
        return None
    shown_author = map(shown.__getitem__, author)
    return db.public_digest(zip(ids, line, at, channel, shown_author, text, norm, late.tolist(), cluster))


def comment_summary(ws: Workspace, case_id: str, *, top: int = 10) -> Summary:
    """Comments received, distinct after exact de-duplication and after clustering, late, and the biggest clusters."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = load_case_rows(conn, case_id)
        counts = db.counts(conn, case_id)
        biggest = db.clusters(conn, case_id, limit=top)
    from flows.usecases.comment_dispositions import dispositions_in_force

    decided = dispositions_in_force(events)
    views = tuple(
        ClusterView(
            c.cluster, c.size, c.distinct, c.late, c.sample_id, c.sample_text,
            *((decided[f"cluster:{c.cluster}"].disposition, decided[f"cluster:{c.cluster}"].reason)
              if f"cluster:{c.cluster}" in decided else (None, "")),
        )
        for c in biggest
    )
    return Summary(
        case_id=case_id,
        received=counts.received,
        distinct=counts.distinct,
        clusters=counts.clusters,
        late=counts.late,
        imports=sum(1 for e in events if e.type == COMMENTS_IMPORTED),
        top=views,
        dispositions=len(decided),
    )




def verify_comments(ws: Workspace, case_id: str) -> list[str]:
    """Check a case's stored comments and disposition rows against its history (the check `audit verify` runs):
    what differs, per import and per disposition (none when intact)."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = load_case_rows(conn, case_id)
        from flows.usecases.comment_integrity import StoredComments

        return StoredComments(conn).problems(events)


def iter_clusters(ws: Workspace, case_id: str) -> Iterator[ClusterView]:
    """Every cluster of a case, biggest first (for a full listing or an export)."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = load_case_rows(conn, case_id)
        rows = db.clusters(conn, case_id)
    from flows.usecases.comment_dispositions import dispositions_in_force

    decided = dispositions_in_force(events)
    for c in rows:
        d = decided.get(f"cluster:{c.cluster}")
        yield ClusterView(c.cluster, c.size, c.distinct, c.late, c.sample_id, c.sample_text,
                          d.disposition if d else None, d.reason if d else "")
