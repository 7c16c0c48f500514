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
"""


from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from flows.adapters.comment_files import EPOCH, MICROSECOND, read_rows, utc_texts
from flows.adapters.similarity import matching_keys, near_duplicate_roots
from flows.usecases.clock import LOCAL, now
from flows.usecases.comment_dispositions import dispositions_in_force
from flows.usecases.comment_integrity import COMMENTS_IMPORTED, StoredComments
from flows.usecases.unit_of_work import load_case_rows
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import comments as db
from models import store
from models.canonical import sha256_hex
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION
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
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
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
    data = read_bounded(source, MAX_FILE_BYTES, "FILE")
    # The collector dominated batch work here (87k → 316k rows/s validated with it paused); one worker thread
    # clusters while this one hashes, reads and stores.
    with gc_paused(), ThreadPoolExecutor(1, thread_name_prefix="comments-cluster") as pool:
        file_sha256 = sha256_hex(data)
        rows = read_rows(data, kind, source.name, LOCAL)
        # The matching keys and, for a case without comments yet, the file's own near-duplicate clusters are worked
        # out on the other core meanwhile (numpy releases the GIL); those clusters are the answer when the case still
        # has none in the write transaction (_assign_clusters). A case with comments is clustered with them there
        # (and a re-import, nothing new, is not clustered at all). Each distinct key is hashed and clustered once.
        keyed = pool.submit(matching_keys, rows.texts)
        early = pool.submit(lambda: near_duplicate_roots(list(dict.fromkeys(keyed.result())))) if first_import else None
        micros = np.asarray(rows.micros, dtype=np.int64)
        stamps = utc_texts(micros)
        row_hash = db.row_hash
        row_hashes = [row_hash(s, c, a, t) for s, c, a, t in zip(stamps, rows.channels, rows.authors, rows.texts)]
        keys = keyed.result()
        distinct = list(dict.fromkeys(keys))
        hash_of = {k: sha256_hex(k.encode()) for k in distinct}
        norm_hashes = [hash_of[k] for k in keys]
        import_id = sha256_hex("\n".join(row_hashes).encode())
        timings["validate"] = clock() - started  # reading the file included

        with write_transaction(ws.engine) as conn:
            started = clock()
            facts = read_facts(conn)
            events, pack = load_case_rows(conn, case_id)
            deadline = _consultation_deadline(events, case_id)
            # Late: submitted after 24:00 of the deadline day, Beijing time.
            closes = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL)
            late = micros >= (closes - EPOCH) // MICROSECOND
            stored = db.row_hashes(conn, case_id)
            new: list[int] = []
            seen: set[str] = set()
            for i, h in enumerate(row_hashes):
                if h not in stored and h not in seen:
                    seen.add(h)
                    new.append(i)
            existing = db.distinct_texts(conn, case_id) if new else []
            timings["read"] = clock() - started

            started = clock()
            cluster_of = {d.norm_hash: d.cluster for d in existing}
            first_new: dict[str, int] = {}
            for i in new:
                h = norm_hashes[i]
                if h not in cluster_of and h not in first_new:
                    first_new[h] = i
            if first_new:
                fresh = [(h, keys[i]) for h, i in first_new.items()]
                ready = early is not None and not existing and [k for _, k in fresh] == distinct
                roots = early.result() if early is not None and ready else None
                cluster_of.update(_assign_clusters(existing, fresh, db.max_cluster(conn, case_id), roots))
            timings["cluster"] = clock() - started

            started = clock()
            if new:
                late_list = late.tolist()
                lines = rows.lines
                channels, authors, texts = rows.channels, rows.authors, rows.texts
                inserted = [
                    (case_id, import_id, lines[i], stamps[i], channels[i], authors[i], texts[i], norm_hashes[i],
                     row_hashes[i], late_list[i], cluster_of[norm_hashes[i]])
                    for i in new
                ]
                ids = db.insert_comments(conn, inserted)
                totals = db.Counts(len(stored) + len(new), len(existing) + len(first_new), len(set(cluster_of.values())), 0)
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
            if new:
                key = f"comments-import:{case_id}:{import_id}"
                if store.find_by_key(conn, key) is None:
                    _, _, c_line, c_at, c_channel, c_author, c_text, c_norm, c_hash, c_late, c_cluster = zip(*inserted)
                    stored_sha256 = db.rows_digest(c_hash)
                    shown = {a: public_author(pack, a) for a in set(c_author)}
                    public_sha256 = db.public_digest(zip(
                        ids, c_line, c_at, c_channel, map(shown.__getitem__, c_author), c_text, c_norm, c_late, c_cluster))
                    body = result.payload(stored_sha256, public_sha256)
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


def _assign_clusters(
    existing: list[db.DistinctText], fresh: list[tuple[str, str]], highest: int, roots: Any = None
) -> dict[str, int]:
    """Cluster numbers for new distinct texts: the (lowest) existing cluster they are near, else new numbers in order.

    Stored clusters never change (the table is append-only and dispositions name them), so a new text that bridges
    two earlier clusters joins the older one. `roots`, when given, are `near_duplicate_roots` of exactly the keys
    this would cluster (the existing texts' keys, then the fresh ones), worked out beforehand.
    """
    if roots is None:
        roots = near_duplicate_roots(matching_keys([d.text for d in existing]) + [k for _, k in fresh])
    roots = roots.tolist()
    old = len(existing)
    cluster_at_root: dict[int, int] = {}
    for i, d in enumerate(existing):
        r = roots[i]
        if r not in cluster_at_root or d.cluster < cluster_at_root[r]:
            cluster_at_root[r] = d.cluster
    out: dict[str, int] = {}
    for j, (h, _) in enumerate(fresh):
        r = roots[old + j]
        if r not in cluster_at_root:
            highest += 1
            cluster_at_root[r] = highest
        out[h] = cluster_at_root[r]
    return out


def comment_summary(ws: Workspace, case_id: str, *, top: int = 10) -> Summary:
    """Comments received, distinct after exact de-duplication and after clustering, late, and the biggest clusters."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = load_case_rows(conn, case_id)
        counts = db.counts(conn, case_id)
        biggest = db.clusters(conn, case_id, limit=top)
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
        return StoredComments(conn).problems(events)


def iter_clusters(ws: Workspace, case_id: str) -> Iterator[ClusterView]:
    """Every cluster of a case, biggest first (for a full listing or an export)."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = load_case_rows(conn, case_id)
        rows = db.clusters(conn, case_id)
    decided = dispositions_in_force(events)
    for c in rows:
        d = decided.get(f"cluster:{c.cluster}")
        yield ClusterView(c.cluster, c.size, c.distinct, c.late, c.sample_id, c.sample_text,
                          d.disposition if d else None, d.reason if d else "")
