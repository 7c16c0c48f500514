"""The unit of work every command shares: open one transaction, load the case (its events replayed), decide with the
case's own pack and calendar, append, commit. `load_case` is the one way a use case reads a case inside its
transaction; refusals and acknowledgements are judged in flows/usecases/judging.py."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any


from flows.usecases.moments import WorkspaceTimeline
from flows.usecases.workspace import WorkspaceFacts
from models import store
from models.canonical import canonical_bytes
from models.state import CaseState, launch_state, replay
from models.store import StoredEvent
from policies.calendar import WorkingDayCalendar
from policies.errors import BadInput, IntegrityFailure, UnknownCase
from policies.limits import MAX_CASE_ID, check_length
from policies.pack import PolicyPack, pack_by_hash

if TYPE_CHECKING:
    from models.db import AnyConnection as Connection


def load_case(conn: Connection, case_id: str, *, as_of: datetime | None = None) -> tuple[list[StoredEvent], CaseState]:
    """A case's events (up to `as_of`) and its state replayed from them; `UnknownCase`, or `BadInput` for an
    `--as-of` before its launch; a case id longer than its column is bad input quoted cut short."""
    check_length(case_id, MAX_CASE_ID, "CASE", "a case id (e.g. JC-2025-0001)")
    events = store.load_stream(conn, case_id, as_of=as_of)
    if not events or events[0].type != "case-launched":
        if as_of is not None and store.load_stream(conn, case_id):
            raise BadInput(f"case {case_id} did not exist yet at {as_of.isoformat()}", field="--as-of")
        raise UnknownCase(f"there is no case {case_id!r} in this workspace (see `juece case list`)", case_id=case_id)
    return events, replay(events)


def pack_of(state: CaseState) -> PolicyPack:
    """The pack version a case was launched under (by the content hash it pinned); a case whose pinned version this
    installation does not ship cannot be judged, and is refused rather than judged by another version."""
    pack = pack_by_hash(state.policy, state.policy_hash)
    if pack is None:
        raise IntegrityFailure(
            f"case {state.case_id} was launched under policy pack {state.policy} with hash {state.policy_hash[:12]}…, "
            f"and no published version of {state.policy} in this installation has that hash; a published pack is "
            "never edited, so this installation cannot judge the case",
            case_id=state.case_id,
        )
    return pack


def case_calendar(facts: WorkspaceFacts, pack: PolicyPack) -> WorkingDayCalendar:
    """Today's calendar (every load counted) with the pack's CAL-01 switch."""
    timeline = WorkspaceTimeline(facts)
    return timeline.calendar(timeline.latest, pack.param("count_makeup_days"))


def command_key(*parts: Any) -> str:
    """The idempotency key of a command: a hash of its canonical parts."""
    return hashlib.sha256(canonical_bytes(list(parts))).hexdigest()


def load_case_rows(conn: Connection, case_id: str) -> tuple[list[StoredEvent], PolicyPack]:
    """The case's events and pinned pack (read without replaying: the rows are all these use cases need)."""
    check_length(case_id, MAX_CASE_ID, "CASE", "a case id (e.g. JC-2025-0001)")
    events = store.load_stream(conn, case_id)
    if not events or events[0].type != "case-launched":
        raise UnknownCase(f"there is no case {case_id!r} in this workspace (see `juece case list`)", case_id=case_id)
    return events, pack_of(launch_state(events[0]))
