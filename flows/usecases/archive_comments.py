"""The archive's public comments and dispositions (`data/comments/` of a bag), and their check with nothing but the bag.

- `comments.jsonl`: every stored comment of the case, one JSON object a line, in the order stored. A `--public` bag
  gives the author only where the case's pack classes it an organisation (policies/disclosure.py); a private person's
  name is `null` (withheld), an anonymous comment's is "" — and it leaves out the row hashes, from which a withheld
  name could be guessed.
- `dispositions.jsonl`: every `comment-disposed` record, one a line, as the history holds it.
- `imports.json`: what the history recorded of each import (count, `stored_sha256`, `public_sha256`), rendered from
  the history.

`archive verify` recomputes each import's digests from `comments.jsonl` and compares them with the `comments-imported`
lines of the proven history in the bag (flows/usecases/comment_integrity.py, the check `audit verify` runs on the database),
holds `dispositions.jsonl` equal to the records and renders `imports.json` again: an edited file is caught even when
the BagIt manifests were regenerated after the edit. Export runs the same check on the database first and refuses
(exit 4) when the rows already differ from the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import orjson
from sqlalchemy import Connection

from flows.usecases.comment_integrity import (
    AUTHOR,
    COMMENT_DISPOSED,
    COMMENTS_IMPORTED,
    comment_differences,
    disposition_differences,
)
from models import comments as db
from models.store import StoredEvent
from policies.disclosure import FORMS_PARAM, public_author
from policies.errors import IntegrityFailure
from policies.pack import PolicyPack

FOLDER = "comments"
_BASIS = "政府信息公开条例第十五条（涉及个人隐私的政府信息不得公开）; 个人信息保护法第二十五条"
_OUT_KEYS = ("id", "import_id", "line", "submitted_at", "channel", "author", "text", "norm_hash", "row_hash", "late", "cluster")


@dataclass(frozen=True)
class CommentFiles:
    """What a bag carries of a case's comments: counts for the 四性 report and the withheld authors."""

    comments: int
    imports: int
    dispositions: int
    authors_withheld: int

    def summary(self, export: str) -> dict[str, str]:
        """The lines the 四性 report gives the comments (identical at export and at verify when intact)."""
        out = {"public_comments": (
            f"{self.comments} comments of {self.imports} import(s) in data/comments/comments.jsonl, each import's rows "
            f"re-hashed against the digests its record in the history holds; {self.dispositions} disposition(s), each a "
            "record in the history (data/comments/dispositions.jsonl)")}
        if export == "public":
            out["comment_authors"] = (f"the names of {self.authors_withheld} private person(s) who commented withheld from "
                                      f"data/comments/comments.jsonl ({_BASIS}); organisations' names kept")
        return out


def carries_comments(events: Sequence[StoredEvent]) -> bool:
    """True when the history records comments or dispositions (the bag then carries data/comments/)."""
    return any(e.type in (COMMENTS_IMPORTED, COMMENT_DISPOSED) for e in events)


def _dispositions(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    return [
        {"seq": e.seq, "target": e.payload["target"], "disposition": e.payload["disposition"],
         "reason": e.payload.get("reason", ""), "comments": e.payload["comments"], "recorded_at": e.recorded_at,
         "actor": e.actor}
        for e in events
        if e.type == COMMENT_DISPOSED
    ]


def _imports_json(events: Sequence[StoredEvent], pack: PolicyPack, files: CommentFiles, export: str) -> str:
    """`imports.json`: the history's record of each import, and how to check the rows against it."""
    imports = [
        {"seq": e.seq, "recorded_at": e.recorded_at, "actor": e.actor, "import_id": e.payload["import_id"],
         "file_sha256": e.payload["file_sha256"], "rows_in_file": e.payload["rows"], "rows_stored": e.payload["new_rows"],
         "late": e.payload["late"], "stored_sha256": e.payload["stored_sha256"],
         "public_sha256": e.payload.get("public_sha256")}
        for e in events
        if e.type == COMMENTS_IMPORTED
    ]
    doc: dict[str, Any] = {
        "format": "juece-comments/v1",
        "export": export,
        "comments": files.comments,
        "dispositions": files.dispositions,
        "imports": imports,
        "how_to_verify": (
            "rows in comments.jsonl order, per import_id: stored_sha256 = sha256 of the rows' row hashes joined by "
            "\\n, each row hash = sha256 of the compact JSON array [submitted_at, channel, author, text]; "
            "public_sha256 = sha256 of the compact JSON array of the rows, each [id, line, submitted_at, channel, "
            "author if an organisation else \"\", text, norm_hash, late, cluster]. Both are recorded in the "
            "comments-imported lines of history.jsonl."),
    }
    if export == "public":
        forms = pack.data["params"].get(FORMS_PARAM)
        doc["authors_withheld"] = {
            "count": files.authors_withheld,
            "basis": _BASIS,
            "rule": (forms["basis"] if forms else "this pack version names no forms of an organisation: every author "
                     "is treated as a private person"),
        }
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Register:
    """A case's comment and disposition rows as read in the export's transaction (checked when written)."""

    rows: list[tuple[Any, ...]]
    dispositions: list[tuple[Any, ...]]


def read_register(conn: Connection, case_id: str) -> Register:
    """The case's comment rows and disposition rows, read in the same transaction as its history."""
    stored = [(d.id, d.target, d.disposition, d.reason, d.recorded_at, d.actor) for d in db.dispositions(conn, case_id)]
    return Register(db.case_comment_rows(conn, case_id), stored)


def write_comment_files(
    register: Register, events: Sequence[StoredEvent], pack: PolicyPack, data: Path, *, public: bool
) -> CommentFiles | None:
    """Write data/comments/ for a case that has comments or dispositions, after checking the rows against the
    history (IntegrityFailure when they differ: a tampered register is not archived). None when there are none."""
    rows = register.rows
    if not rows and not register.dispositions and not carries_comments(events):
        return None
    problems = comment_differences(rows, events, pack) + disposition_differences(register.dispositions, events)
    if problems:
        case_id = events[0].case_id
        raise IntegrityFailure(
            f"the public comments of {case_id} differ from its history, so they are not archived: {'; '.join(problems)} "
            "(see `juece audit verify`)", case_id=case_id)
    folder = data / FOLDER
    folder.mkdir()
    withheld = 0
    shown: dict[str, str] = {}
    dumps = orjson.dumps
    with (folder / "comments.jsonl").open("wb") as f:
        for r in rows:
            obj = dict(zip(_OUT_KEYS, r))
            if public:
                author = r[AUTHOR]
                if author not in shown:
                    shown[author] = public_author(pack, author)
                if author and not shown[author]:
                    obj["author"] = None
                    withheld += 1
                del obj["row_hash"]
            f.write(dumps(obj) + b"\n")
    disposed = _dispositions(events)
    (folder / "dispositions.jsonl").write_bytes(b"".join(dumps(d) + b"\n" for d in disposed))
    files = CommentFiles(len(rows), sum(1 for e in events if e.type == COMMENTS_IMPORTED), len(disposed), withheld)
    (folder / "imports.json").write_text(_imports_json(events, pack, files, "public" if public else "full"), encoding="utf-8")
    return files


def withheld_authors(files: CommentFiles | None) -> dict[str, Any]:
    """The public bag's withheld.json entry for comment authors."""
    if files is None:
        return {}
    return {"comment_authors": {
        "count": files.authors_withheld, "file": f"{FOLDER}/comments.jsonl", "basis": _BASIS,
        "note": "the names of private persons who commented (author null); organisations' names and every comment's words are kept",
    }}


@dataclass
class CommentCheck:
    """What `archive verify` found in data/comments/."""

    failures: list[str]
    checked: list[str]
    notes: list[str]
    files: CommentFiles | None = None


def _read_rows(path: Path, public: bool) -> list[tuple[Any, ...]]:
    rows = []
    for n, raw in enumerate(path.read_bytes().splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
            rows.append(tuple(obj.get("row_hash") if public and k == "row_hash" else obj[k] for k in _OUT_KEYS))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"comments.jsonl line {n} cannot be read ({type(exc).__name__})") from exc
    return rows


def verify_comment_files(data: Path, events: Sequence[StoredEvent], pack: PolicyPack, export: str) -> CommentCheck:
    """Check data/comments/ against the (already proven) history in the bag."""
    check = CommentCheck([], [], [])
    folder = data / FOLDER
    expected = carries_comments(events)
    if not folder.exists():
        if expected:
            check.failures.append("comments: the history records public comments or dispositions that the bag does not "
                                  "carry (data/comments/ is missing)")
        return check
    public = export == "public"
    try:
        rows = _read_rows(folder / "comments.jsonl", public)
        lines = [orjson.loads(x) for x in (folder / "dispositions.jsonl").read_bytes().splitlines() if x.strip()]
        index = (folder / "imports.json").read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        check.failures.append(f"comments: {exc}")
        return check
    if public and any(r[AUTHOR] and not public_author(pack, r[AUTHOR]) for r in rows):
        check.failures.append("comments: a public bag shows the name of a private person who commented")
    if not public and any(r[AUTHOR] is None for r in rows):
        check.failures.append("comments: a full bag withholds an author's name")
    notes: list[str] = []
    differences = comment_differences(rows, events, pack, authors_withheld=public, unverifiable=notes)
    check.failures += [f"comments.jsonl: {d}" for d in differences]
    check.notes += notes
    if lines != _dispositions(events):
        stored = [(d.get("seq"), d.get("target"), d.get("disposition"), d.get("reason"), d.get("recorded_at"), d.get("actor"))
                  for d in lines if isinstance(d, dict)]
        found = disposition_differences(stored, events) or ["a line differs from its record (how many comments it covered)"]
        check.failures += [f"dispositions.jsonl: {d}" for d in found]
    files = CommentFiles(len(rows), sum(1 for e in events if e.type == COMMENTS_IMPORTED), len(lines),
                         sum(1 for r in rows if r[AUTHOR] is None) if public else 0)
    if index != _imports_json(events, pack, files, export):
        check.failures.append("comments/imports.json: differs from the record of the imports in the history (edited after export)")
    check.files = files
    if not check.failures:
        check.checked.append(
            f"{files.comments} comments of {files.imports} import(s) re-hashed against the digests in the history"
            + (f" ({files.authors_withheld} private persons' names withheld)" if public else "")
            + f"; {files.dispositions} disposition(s) equal to their records")
    return check
