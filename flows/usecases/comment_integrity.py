"""Public comments and their dispositions checked against the history: the one check that `audit verify`, the
archive export and `archive verify` all run.

The history holds, for each import, the number of rows it stored and two digests (`comments-imported`:
`stored_sha256` over the rows' own words, `public_sha256` over every column a public register shows), and one
`comment-disposed` event per disposition. Rows are compared with those records in one batch pass per case: each
row's hash recomputed from its columns, each import's rows counted and re-digested, each disposition row compared
field by field with its event. What differs is said in numbers and ids: rows missing, added or changed, per import.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from flows.usecases.unit_of_work import pack_of
from models import comments as db
from models.state import launch_state
from models.store import StoredEvent
from policies.disclosure import public_author
from policies.pack import PolicyPack

if TYPE_CHECKING:
    from models.db import AnyConnection

COMMENTS_IMPORTED = "comments-imported"
COMMENT_DISPOSED = "comment-disposed"
_SHOWN = 5  # ids quoted in a message; the count covers them all

# Positions in a comment row (models/comments.py FULL_COLUMNS).
ID, IMPORT, LINE, AT, CHANNEL, AUTHOR, TEXT, NORM, ROW_HASH, LATE, CLUSTER = range(11)


def _ids(ids: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def public_rows(rows: Iterable[Sequence[Any]], pack: PolicyPack, *, authors_withheld: bool = False) -> Iterator[tuple[Any, ...]]:
    """Stored rows as `models.comments.public_digest` takes them; with `authors_withheld` the rows come from a public
    copy, whose author is already only what may be shown ('' or None for a private person)."""
    shown: dict[str, str] = {}
    for r in rows:
        author = r[AUTHOR] or ""
        if not authors_withheld:
            a = shown.get(author)
            if a is None:
                a = shown[author] = public_author(pack, author)
            author = a
        yield (r[ID], r[LINE], r[AT], r[CHANNEL], author, r[TEXT], r[NORM], r[LATE], r[CLUSTER])


def comment_differences(
    rows: Sequence[Sequence[Any]], events: Sequence[StoredEvent], pack: PolicyPack, *, authors_withheld: bool = False,
    unverifiable: list[str] | None = None,
) -> list[str]:
    """How a case's stored comments differ from what its history recorded (none when they agree).

    `rows` are in the order stored, as `models.comments.FULL_COLUMNS` tuples. With `authors_withheld` (a public archive)
    the private persons' names and the row hashes are absent, so each import is checked by its count and its
    `public_sha256`; an import recorded before that digest existed cannot be checked so, and is said in
    `unverifiable` (or, without that list, among the differences)."""
    by_import: dict[str, list[Sequence[Any]]] = {}
    for r in rows:
        by_import.setdefault(r[IMPORT], []).append(r)
    problems: list[str] = []
    recorded: set[str] = set()
    for e in events:
        if e.type != COMMENTS_IMPORTED:
            continue
        p = e.payload
        import_id = p["import_id"]
        recorded.add(import_id)
        got = by_import.get(import_id, [])
        want = p["new_rows"]
        what: list[str] = []
        if len(got) < want:
            what.append(f"{want - len(got)} missing")
        elif len(got) > want:
            what.append(f"{len(got) - want} added")
        if not authors_withheld:
            changed = [r[ID] for r in got if db.row_hash(r[AT], r[CHANNEL], r[AUTHOR], r[TEXT]) != r[ROW_HASH]]
            if changed:
                what.append(f"{_plural(len(changed), 'row')} changed (comment {_ids(changed)}: the words no longer "
                            "match the row's hash)")
            elif not what and db.rows_digest(r[ROW_HASH] for r in got) != p["stored_sha256"]:
                what.append(f"the {len(got)} stored rows are not the ones recorded (rows replaced, their hashes "
                            "rewritten or their order changed)")
        digest = p.get("public_sha256")
        if not what and digest is not None and db.public_digest(public_rows(got, pack, authors_withheld=authors_withheld)) != digest:
            what.append("the rows differ from those recorded (their public digest does not match: a comment's words, "
                        "time, channel, id, line, late flag, cluster or an organisation's name)" if authors_withheld else
                        "a column changed beyond the comment's own words (its id, line, matching hash, late flag, "
                        "cluster, or an organisation's name)")
        if not what and digest is None and authors_withheld:
            why = (f"comments of import {import_id[:12]}… (event {e.seq}) were recorded before imports carried a public "
                   "digest: their words cannot be checked without the authors' names (verify the full archive)")
            if unverifiable is None:
                problems.append(why)
            else:
                unverifiable.append(why)
        if what:
            problems.append(f"comments of import {import_id[:12]}… (event {e.seq}, {want} rows recorded, {len(got)} "
                            f"stored): {'; '.join(what)}")
    for import_id, got in by_import.items():
        if import_id not in recorded:
            problems.append(f"{_plural(len(got), 'comment row')} of an import the history does not record "
                            f"({import_id[:12]}…: added behind the engine's back; comment {_ids([r[ID] for r in got])})")
    return problems


def _disposition_key(target: str, disposition: str, reason: str, recorded_at: str, actor: str) -> tuple[str, ...]:
    return (target, disposition, reason, recorded_at, actor)


_FIELDS = ("target", "disposition", "reason", "recorded_at", "actor")


def disposition_differences(rows: Sequence[Sequence[Any]], events: Sequence[StoredEvent]) -> list[str]:
    """How a case's disposition rows (id, target, disposition, reason, recorded_at, actor; in the order stored)
    differ from its `comment-disposed` events (none when each row repeats its event, in order)."""
    recorded = [
        (e.seq, _disposition_key(e.payload["target"], e.payload["disposition"], e.payload.get("reason", ""), e.recorded_at, e.actor))
        for e in events
        if e.type == COMMENT_DISPOSED
    ]
    stored = [(r[0], _disposition_key(*r[1:6])) for r in rows]
    if [k for _, k in recorded] == [k for _, k in stored]:
        return []
    want, have = Counter(k for _, k in recorded), Counter(k for _, k in stored)
    missing = [(seq, k) for seq, k in recorded if _take(want, have, k)]
    want, have = Counter(k for _, k in recorded), Counter(k for _, k in stored)
    added = [(rid, k) for rid, k in stored if _take(have, want, k)]
    problems: list[str] = []
    # A row whose event shares its target was edited; the others were deleted or added.
    for seq, k in list(missing):
        twin = next(((rid, a) for rid, a in added if a[0] == k[0]), None)
        if twin is not None:
            rid, a = twin
            fields = ", ".join(f for f, x, y in zip(_FIELDS, k, a) if x != y)
            problems.append(f"disposition row {rid} ({k[0]}) differs from its record, event {seq}: {fields} changed")
            missing.remove((seq, k))
            added.remove(twin)
    for seq, k in missing:
        problems.append(f"the disposition of {k[0]} recorded as event {seq} ({k[1]}) is missing from the dispositions table")
    for rid, k in added:
        problems.append(f"disposition row {rid} ({k[0]}: {k[1]}) is not in the history (added behind the engine's back)")
    if not problems:
        problems.append("the disposition rows are not in the order of their records")
    return problems


def _take(counts: Counter[tuple[str, ...]], other: Counter[tuple[str, ...]], key: tuple[str, ...]) -> bool:
    """True when `key` is one more in `counts` than `other` can match (and counts it off)."""
    if other[key] > 0:
        other[key] -= 1
        return False
    return True


class StoredComments:
    """The audit's view of the comments and dispositions tables over one read transaction: which cases hold rows
    (one grouped pass), then each case that has rows or records re-checked against its history."""

    def __init__(self, conn: AnyConnection) -> None:
        self.conn = conn
        self.tables = db.has_dispositions_table(conn)  # a store from before migration 2 has none
        self.held = db.rows_per_case(conn) if self.tables else {}
        # Cases whose history records comments or dispositions (by the events' type index: no pass over every event).
        self.recorded = db.cases_recording(conn, (COMMENTS_IMPORTED, COMMENT_DISPOSED))

    def problems(self, events: Sequence[StoredEvent]) -> list[str]:
        """What differs between one case's rows and its history (none when they agree)."""
        case_id = events[0].case_id
        if case_id not in self.held and case_id not in self.recorded:
            return []
        if not self.tables:
            return ["the history records public comments or dispositions but the store has no comments tables"]
        pack = pack_of(launch_state(events[0]))
        out = comment_differences(db.case_comment_rows(self.conn, case_id), events, pack)
        rows = [(d.id, d.target, d.disposition, d.reason, d.recorded_at, d.actor) for d in db.dispositions(self.conn, case_id)]
        return out + disposition_differences(rows, events)

    def check(self, events: Sequence[StoredEvent], verdict: Any) -> Any:
        """The case's verdict, made not intact when its comments or dispositions differ from its history."""
        if not verdict.intact:
            return verdict
        found = self.problems(events)
        if not found:
            return verdict
        return replace(verdict, intact=False, problem="; ".join(([verdict.problem] if verdict.problem else []) + found))

    def unclaimed(self, case_ids: Iterable[str]) -> list[str]:
        """Rows filed under no case of the store (checked when every case is verified)."""
        known = set(case_ids)
        return [f"{n} comment and {d} disposition rows are filed under {case_id!r}, which is no case of this store"
                for case_id, (n, d) in self.held.items() if case_id not in known]
