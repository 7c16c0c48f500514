"""Reading cases: a case's stages, next steps and deadlines (`case show`, now or as it stood), its records as recorded
(the console's dossier page), and the list of cases. One read transaction each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

from flows.usecases.clock import local_date, now
from flows.usecases.unit_of_work import case_calendar, load_case, pack_of
from flows.usecases.workspace import Workspace, read_facts
from models import store
from models.db import read_transaction
from models.state import CaseState, replay
from policies.calendar import WorkingDayCalendar
from policies.deadlines import Deadline, deadlines_of
from policies.errors import BadInput
from policies.pack import PolicyPack
from policies.procedure import RECORDED, StageStatus, awaiting_name



@dataclass(frozen=True)
class StageView:
    """One row of the stage table."""

    stage: str
    label: str
    status: str
    detail: str
    recorded_on: str | None  # local date of the settling record, when recorded

    def to_json(self) -> dict[str, Any]:
        """The JSON contract: {"stage", "status", …}."""
        return {"stage": self.stage, "label": self.label, "status": self.status, "detail": self.detail, "recorded_on": self.recorded_on}


@dataclass(frozen=True)
class CaseView:
    """Everything `case show` prints."""

    case_id: str
    title: str
    category: str
    organ: str
    lead_unit: str
    flags: tuple[str, ...]
    policy: str
    policy_hash: str
    launched_on: str
    status: str
    stages: tuple[StageView, ...]
    next: tuple[dict[str, Any], ...]
    awaiting: str
    deadlines: tuple[Deadline, ...]
    acknowledged: tuple[dict[str, Any], ...]
    refused_attempts: tuple[dict[str, Any], ...]
    events: int
    as_of: str | None
    today: str
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of `case show`."""
        return {
            "case_id": self.case_id,
            "title": self.title,
            "category": self.category,
            "organ": self.organ,
            "lead_unit": self.lead_unit,
            "flags": list(self.flags),
            "policy": self.policy,
            "policy_hash": self.policy_hash,
            "launched_on": self.launched_on,
            "status": self.status,
            "stages": [s.to_json() for s in self.stages],
            "next": list(self.next),
            "awaiting": self.awaiting,
            "deadlines": [d.to_json() for d in self.deadlines],
            "acknowledged": list(self.acknowledged),
            "refused_attempts": list(self.refused_attempts),
            "events": self.events,
            "as_of": self.as_of,
            "today": self.today,
            "notes": list(self.notes),
        }


def case_status(state: CaseState, statuses: Mapping[str, StageStatus]) -> str:
    """open | decided | published | ended."""
    if state.ended:
        return "ended"
    if statuses.get("publication", StageStatus("pending")).status in RECORDED:
        return "published"
    if statuses.get("collective_discussion", StageStatus("pending")).status == "concluded":
        return "decided"
    return "open"


def next_steps(pack: PolicyPack, state: CaseState, statuses: Mapping[str, StageStatus]) -> tuple[str, list[dict[str, Any]]]:
    """What the case waits on: a state name, and the events that may be recorded next with who records them."""
    if state.ended:
        return "Ended", []
    for stage in pack.stages:
        st = statuses[stage.id]
        if st.status in RECORDED:
            continue
        if st.waiting_for and stage.id in ("legality_review", "collective_discussion"):
            candidates = [st.waiting_for]
        else:
            candidates = list(stage.activities + stage.conclusion)
            waivers = pack.param("waivers")
            for w in stage.waiver + stage.exemption:
                spec = waivers.get(w, {})
                if spec.get("refused_with_flag") in state.flags:
                    continue
                if spec.get("requires_flag") and spec["requires_flag"] not in state.flags:
                    continue
                candidates.append(w)
        steps = [{"event": e, "stage": stage.id, "roles": list(pack.roles_for(e)[0])} for e in candidates]
        return awaiting_name(stage, st), steps
    return "Complete", []


def view_of(state: CaseState, pack: PolicyPack, calendar: WorkingDayCalendar, today: date, as_of: datetime | None) -> CaseView:
    """The readable view of a case state."""
    statuses = state.statuses(pack)
    stages = []
    for s in pack.stages:
        st = statuses[s.id]
        recorded = [r for r in state.history if r.type in s.events]
        on = _record_date(recorded[-1].payload) if recorded and st.status in RECORDED else None
        stages.append(StageView(s.id, s.label, st.status, st.detail, on))
    awaiting, steps = next_steps(pack, state, statuses)
    acknowledged = tuple(
        {"seq": r.seq, "event": r.type, "rule": a["rule"], "reason": a["reason"], "actor": r.actor}
        for r, a in state.acknowledgements
    )
    refused = tuple(
        {"seq": r.seq, "attempted": r.payload["attempted_event"], "rules": list(r.payload["rules"]), "actor": r.actor,
         "recorded_at": r.recorded_at}
        for r in state.refused
    )
    return CaseView(
        case_id=state.case_id,
        title=state.title,
        category=state.category,
        organ=state.organ,
        lead_unit=state.lead_unit,
        flags=tuple(sorted(state.flags)),
        policy=state.policy,
        policy_hash=state.policy_hash,
        launched_on=state.launched_on.isoformat(),
        status=case_status(state, statuses),
        stages=tuple(stages),
        next=tuple(steps),
        awaiting=awaiting,
        deadlines=tuple(deadlines_of(state, calendar, pack, today, ended=state.ended)),
        acknowledged=acknowledged,
        refused_attempts=refused,
        events=state.seq,
        as_of=as_of.isoformat() if as_of else None,
        today=today.isoformat(),
        notes=_drafting_notes(state, pack, statuses),
    )


def _record_date(payload: Mapping[str, Any]) -> str | None:
    for k in ("concluded_on", "held_on", "issued_on", "assessed_on", "decided_on", "answered_on", "reported_on",
              "published_on", "evaluated_on"):
        value = payload.get(k)
        if isinstance(value, date):
            return value.isoformat()
    return None


def show_case(ws: Workspace, case_id: str, *, as_of: datetime | None = None) -> CaseView:
    """A case's stages, next steps and deadlines — now, or as it stood at `as_of`."""
    with read_transaction(ws.db) as conn:
        facts = read_facts(conn)
        _, state = load_case(conn, case_id, as_of=as_of)
    pack = pack_of(state)
    moment = as_of or now(facts)
    return view_of(state, pack, case_calendar(facts, pack), local_date(moment), as_of)


def case_records(ws: Workspace, case_id: str) -> list[dict[str, Any]]:
    """Every event of a case: seq, type, when, who (actor and role), the payload and acknowledged warnings."""
    with read_transaction(ws.db) as conn:
        events, _ = load_case(conn, case_id)
    return [{"seq": e.seq, "type": e.type, "recorded_at": e.recorded_at, "actor": e.actor, "role": e.role,
             "payload": e.payload, "acknowledgements": e.acknowledgements} for e in events]


@dataclass(frozen=True)
class CaseSummary:
    """One row of `case list`."""

    case_id: str
    title: str
    category: str
    status: str
    awaiting: str
    launched_on: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def list_cases(ws: Workspace, *, status: str | None = None) -> list[CaseSummary]:
    """Every case in the workspace (optionally only those with the given status)."""
    if status is not None and status not in ("open", "decided", "published", "ended"):
        raise BadInput(f"--status {status!r}: expected open, decided, published or ended", field="--status")
    out = []
    with read_transaction(ws.db) as conn:
        for case_id in store.stream_ids(conn, event_type="case-launched"):
            state = replay(store.load_stream(conn, case_id))
            pack = pack_of(state)
            statuses = state.statuses(pack)
            s = case_status(state, statuses)
            if status and s != status:
                continue
            awaiting, _ = next_steps(pack, state, statuses)
            out.append(CaseSummary(case_id, state.title, state.category, s, awaiting, state.launched_on.isoformat()))
    return out


def _drafting_notes(state: CaseState, pack: PolicyPack, statuses: Mapping[str, StageStatus]) -> tuple[str, ...]:
    """DRF-04's note while the organ has not yet decided (policies/rules/drafting.py); the rule engine is imported
    only for a case of a pack with that stage still open (a `case show` of any other case does not pay for it)."""
    stage = pack.stage_of("dispute-stated")
    if stage is None or not stage.concurrent_until or statuses[stage.concurrent_until].status in RECORDED:
        return ()
    from policies.rules.drafting import drafting_notes

    return drafting_notes(state, pack, statuses)
