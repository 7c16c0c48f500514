"""How each public comment or campaign was handled (条例 art. 18): a `comment-disposed` record per decision, judged
like every record (ROLE-01), with a queryable row that `audit verify` holds equal to the record."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Sequence

from flows.adapters.comment_files import BAD_CHARS
from flows.usecases.clock import now
from flows.usecases.comment_integrity import COMMENT_DISPOSED
from flows.usecases.unit_of_work import load_case_rows
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import comments as db
from models import store
from models.db import write_transaction
from models.events import SCHEMA_VERSION, CommentDisposed
from models.store import NewEvent, StoredEvent
from policies.errors import BadInput
from policies.rules.order import require_role


@dataclass(frozen=True)
class DispositionRecorded:
    """What `record_disposition` did: the `comment-disposed` record (its seq), or the one in force when repeated."""

    case_id: str
    seq: int
    target: str
    disposition: str
    reason: str
    recorded_at: str
    actor: str
    comments: int  # how many comments the target covers
    repeated: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


@dataclass(frozen=True)
class Disposition:
    """A disposition as the history records it (`comment-disposed`)."""

    seq: int
    target: str
    disposition: str
    reason: str
    comments: int
    recorded_at: str
    actor: str


def dispositions_in_force(events: Sequence[StoredEvent]) -> dict[str, Disposition]:
    """The disposition in force for each target, read from the history: the latest recorded (a correction is a new
    record, never an edit)."""
    out: dict[str, Disposition] = {}
    for e in events:
        if e.type == COMMENT_DISPOSED:
            p = e.payload
            out[p["target"]] = Disposition(e.seq, p["target"], p["disposition"], p.get("reason", ""), p["comments"],
                                           e.recorded_at, e.actor)
    return out


_TARGET = re.compile(r"^(comment|cluster):([1-9][0-9]{0,17})$")
NEEDS_REASON = ("not-adopted", "partly-adopted")


def record_disposition(
    ws: Workspace, actor: Actor, case_id: str, target: str, disposition: str, reason: str = ""
) -> DispositionRecorded:
    """Record how a comment or a cluster was handled: adopted, partly adopted or not adopted, with the reason."""
    match = _TARGET.match(target.strip())
    if not match:
        raise BadInput(f"target {target!r}: expected comment:<id> or cluster:<number>", field="target")
    if disposition not in db.DISPOSITIONS:
        raise BadInput(
            f"disposition {disposition!r}: expected one of {', '.join(db.DISPOSITIONS)}", field="disposition"
        )
    try:
        reason = unicodedata.normalize("NFC", reason or "").strip()
        if BAD_CHARS.search(reason):
            raise ValueError("control characters are not allowed in text")
    except ValueError as exc:
        raise BadInput(f"reason: {exc}", field="reason") from exc
    if len(reason) > 2000:
        raise BadInput("reason: at most 2000 characters", field="reason")
    if disposition in NEEDS_REASON and not reason:
        raise BadInput(
            f"a {disposition} disposition needs the reason (条例 art. 18: 不予采纳的理由), given as --reason TEXT",
            field="reason",
        )
    kind, number = match.group(1), int(match.group(2))
    target = f"{kind}:{number}"
    db.create_comment_schema(ws.engine)
    with write_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        events, pack = load_case_rows(conn, case_id)
        require_role(pack, actor.role, COMMENT_DISPOSED, "record how public comments were handled")
        if kind == "comment":
            found = db.comment(conn, case_id, number)
            covers = 1 if found else 0
        else:
            found_cluster = db.clusters(conn, case_id, only=[number])
            covers = found_cluster[0].size if found_cluster else 0
        if not covers:
            raise BadInput(f"case {case_id} has no {kind} {number} (see `juece comments show {case_id}`)", field="target")
        current = dispositions_in_force(events).get(target)
        if current and current.disposition == disposition and current.reason == reason:
            return DispositionRecorded(case_id, current.seq, target, disposition, reason, current.recorded_at,
                                       current.actor, current.comments, repeated=True)
        body = CommentDisposed(target=target, disposition=disposition, reason=reason, comments=covers).model_dump(mode="json")
        moment = now(facts)
        key = f"comment-disposed:{case_id}:{events[-1].seq + 1}"
        (event,) = store.append(
            conn, case_id, events,
            [NewEvent(COMMENT_DISPOSED, SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash)],
            moment,
        )
        db.insert_disposition(  # the queryable copy; `audit verify` holds it equal to the record
            conn, case_id=case_id, target=target, disposition=disposition, reason=reason,
            recorded_at=event.recorded_at, actor=event.actor,
        )
    return DispositionRecorded(case_id, event.seq, target, disposition, reason, event.recorded_at, event.actor, covers)
